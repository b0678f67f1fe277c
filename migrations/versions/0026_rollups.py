"""KPI rollups for the KPI page and the board.

Revision ID: 0026_rollups
Revises: 0025_hardening
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0026_rollups'
down_revision = '0025_hardening'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
