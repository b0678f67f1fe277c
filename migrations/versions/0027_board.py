"""Board state (placeholder).

Revision ID: 0027_board
Revises: 0026_rollups
Create Date: 2026-12-05 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0027_board'
down_revision = '0026_rollups'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
