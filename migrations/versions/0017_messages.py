"""Messages between a firm and a technician about an assignment; pool announcements.

Revision ID: 0017_messages
Revises: 0016_webhooks
Create Date: 2026-12-05 11:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0017_messages'
down_revision = '0016_webhooks'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        'messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('from_firm', sa.Boolean(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('file_key', sa.String(length=80), nullable=True),
        sa.Column('file_mime', sa.String(length=40), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_messages_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_messages_technician_id_technicians')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_messages_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    )
    op.create_index('ix_messages_thread', 'messages', ['assignment_id', 'technician_id', 'id'])
    op.create_table(
        'thread_reads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('last_read_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_thread_reads_user_id_users')),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_thread_reads_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_thread_reads_technician_id_technicians')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_reads')),
        sa.UniqueConstraint('user_id', 'assignment_id', 'technician_id',
                            name=op.f('uq_thread_reads_user_id_assignment_id_technician_id')),
    )
    op.create_table(
        'pool_announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pool_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=160), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['pool_id'], ['talent_pools.id'],
                                name=op.f('fk_pool_announcements_pool_id_talent_pools')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_pool_announcements_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_announcements')),
    )
    op.create_index('ix_pool_announcements_pool_id', 'pool_announcements', ['pool_id'])


def downgrade():
    op.drop_index('ix_pool_announcements_pool_id', table_name='pool_announcements')
    op.drop_table('pool_announcements')
    op.drop_table('thread_reads')
    op.drop_index('ix_messages_thread', table_name='messages')
    op.drop_table('messages')
