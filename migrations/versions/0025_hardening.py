"""Hardening: consent for pool membership and works-with.

Revision ID: 0025_hardening
Revises: 0024_rate
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0025_hardening'
down_revision = '0024_rate'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
