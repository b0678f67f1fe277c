"""Check-in path (placeholder).

Revision ID: 0028_manage_sync
Revises: 0027_board
Create Date: 2026-12-05 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0028_manage_sync'
down_revision = '0027_board'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
