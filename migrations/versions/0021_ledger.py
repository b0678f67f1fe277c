"""Pay: the double-entry ledger (accounts, transactions, entries).

Revision ID: 0021_ledger
Revises: 0020_perf_indexes
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0021_ledger'
down_revision = '0020_perf_indexes'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
