"""Rate: who raised a dispute (a firm contests a technician's "site not ready" report).

Revision ID: 0029_rate
Revises: 0026_rollups
Create Date: 2026-12-05 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0029_rate'
down_revision = '0026_rollups'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rate_disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_rate_disputes_raised_by_id_users'),
                                    'users', ['raised_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('rate_disputes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rate_disputes_raised_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('raised_by_id')
