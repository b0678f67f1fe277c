"""Pay: connected accounts, firm funding, Stripe events.

Revision ID: 0022_pay_rails
Revises: 0021_ledger
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0022_pay_rails'
down_revision = '0021_ledger'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
