"""Pay: payables, payouts, statements and invoices.

Revision ID: 0023_payouts
Revises: 0022_pay_rails
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0023_payouts'
down_revision = '0022_pay_rails'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
