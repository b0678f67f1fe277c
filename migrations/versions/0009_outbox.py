"""The durable outbox: every message that leaves the process is a row first.

Revision ID: 0009_outbox
Revises: 0008_match_index_vectors
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types


revision = '0009_outbox'
down_revision = '0008_match_index_vectors'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=30), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'sent', 'dead', name='outboxstatus',
                                    native_enum=False, length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('subject', sa.String(length=80), nullable=True),
        sa.Column('ref', sa.String(length=40), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_id')),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])
    op.create_index('ix_outbox_ref', 'outbox', ['ref', 'created_at'])


def downgrade():
    op.drop_index('ix_outbox_ref', table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
