"""Notification preferences per group of events; the daily digest's pending flag.

Revision ID: 0018_notification_preferences
Revises: 0017_messages
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0018_notification_preferences'
down_revision = '0017_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('group', sa.String(length=20), nullable=False),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('email', sa.Boolean(), nullable=False),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
        sa.UniqueConstraint('user_id', 'group',
                            name=op.f('uq_notification_preferences_user_id_group')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('digest_pending')
    op.drop_table('notification_preferences')
