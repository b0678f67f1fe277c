"""Indexes for the KPI page and the board: a firm's work by start and by publishing,
work records by approval, and each assignment's accepted offer; the outbox's due
rows in the order a relay claims them.

Revision ID: 0020_perf_indexes
Revises: 0019_sla
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0020_perf_indexes'
down_revision = '0019_sla'
branch_labels = None
depends_on = None

ACCEPTED = sa.text("status = 'accepted'")


def upgrade():
    op.create_index('ix_assignments_firm_starts', 'assignments', ['firm_id', 'starts_at'])
    op.create_index('ix_assignments_firm_published', 'assignments',
                    ['firm_id', 'published_at'])
    op.create_index('ix_work_records_approved', 'work_records', ['approved_at'])
    op.create_index('ix_offers_accepted', 'offers', ['assignment_id'],
                    postgresql_include=['responded_at'], postgresql_where=ACCEPTED,
                    sqlite_where=ACCEPTED)
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at', 'id'])


def downgrade():
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])
    op.drop_index('ix_offers_accepted', table_name='offers')
    op.drop_index('ix_work_records_approved', table_name='work_records')
    op.drop_index('ix_assignments_firm_published', table_name='assignments')
    op.drop_index('ix_assignments_firm_starts', table_name='assignments')
