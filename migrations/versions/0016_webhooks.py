"""Webhook endpoints for firms that integrate.

Revision ID: 0016_webhooks
Revises: 0015_manage
Create Date: 2026-12-05 11:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0016_webhooks'
down_revision = '0015_manage'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('secret', sa.String(length=80), nullable=False),
        sa.Column('previous_secret', sa.String(length=80), nullable=True),
        sa.Column('previous_expires_at', UTC, nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=300), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'],
                                name=op.f('fk_webhook_endpoints_firm_id_firms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_index('ix_webhook_endpoints_firm_id', 'webhook_endpoints', ['firm_id'])


def downgrade():
    op.drop_index('ix_webhook_endpoints_firm_id', table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
