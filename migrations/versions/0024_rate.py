"""Rate: ratings, scorecards, firm lists.

Revision ID: 0024_rate
Revises: 0023_payouts
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0024_rate'
down_revision = '0023_payouts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
