"""Find: files attached to assignments and templates.

Revision ID: 0006_find_attachments
Revises: 0005_match_index_ranges
Create Date: 2026-11-23 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types


# revision identifiers, used by Alembic.
revision = '0006_find_attachments'
down_revision = '0005_match_index_ranges'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assignment_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mime', sa.String(length=60), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(assignment_id IS NULL) <> (template_id IS NULL)', name=op.f('ck_assignment_attachments_one_owner')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_assignment_attachments_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_assignment_attachments_firm_id_firms')),
    sa.ForeignKeyConstraint(['template_id'], ['assignment_templates.id'], name=op.f('fk_assignment_attachments_template_id_assignment_templates')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_assignment_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_attachments'))
    )
    with op.batch_alter_table('assignment_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_attachments_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_attachments_storage_key'), ['storage_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_attachments_template_id'), ['template_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assignment_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_attachments_template_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_attachments_storage_key'))
        batch_op.drop_index(batch_op.f('ix_assignment_attachments_assignment_id'))

    op.drop_table('assignment_attachments')
