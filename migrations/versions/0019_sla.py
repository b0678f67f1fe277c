"""SLA targets on assignments, the firm's warning lead time, and recorded SLA events.

Revision ID: 0019_sla
Revises: 0018_notification_preferences
Create Date: 2026-12-05 12:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0019_sla'
down_revision = '0018_notification_preferences'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_response_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_arrival_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_completion_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('manage_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_warning_minutes', sa.Integer(), nullable=False,
                                      server_default='30'))
    op.create_table(
        'sla_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_sla_events_assignment_id_assignments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_events')),
        sa.UniqueConstraint('assignment_id', 'kind', 'state',
                            name=op.f('uq_sla_events_assignment_id_kind_state')),
    )


def downgrade():
    op.drop_table('sla_events')
    with op.batch_alter_table('manage_settings', schema=None) as batch_op:
        batch_op.drop_column('sla_warning_minutes')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('sla_completion_minutes')
        batch_op.drop_column('sla_arrival_minutes')
        batch_op.drop_column('sla_response_minutes')
