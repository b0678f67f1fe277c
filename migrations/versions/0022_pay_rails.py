"""Pay, the rails: technicians' connected accounts, firms' top-ups and net terms, and the
Stripe events received (unique by event id: a redelivered event is recognised).

Revision ID: 0022_pay_rails
Revises: 0021_ledger
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0022_pay_rails'
down_revision = '0021_ledger'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade():
    op.create_table(
        'pay_connected_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('stripe_account_id', sa.String(length=64), nullable=False),
        sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
        sa.Column('details_submitted', sa.Boolean(), nullable=False),
        sa.Column('requirements_due', sa.JSON(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('pay_connected_accounts', 'technician_id', 'technicians'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_connected_accounts')),
        sa.UniqueConstraint('technician_id',
                            name=op.f('uq_pay_connected_accounts_technician_id')),
        sa.UniqueConstraint('stripe_account_id',
                            name=op.f('uq_pay_connected_accounts_stripe_account_id')),
    )
    op.create_table(
        'pay_topups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('payment_method', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum('requested', 'processing', 'succeeded', 'failed',
                                    native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column('payment_intent_id', sa.String(length=64), nullable=True),
        sa.Column('failure_code', sa.String(length=40), nullable=True),
        sa.Column('failure_message', sa.String(length=300), nullable=True),
        sa.Column('refunded_cents', sa.BigInteger(), nullable=False),
        sa.Column('disputed_cents', sa.BigInteger(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('settled_at', UTC, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('pay_topups', 'firm_id', 'firms'),
        _fk('pay_topups', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_topups')),
        sa.UniqueConstraint('payment_intent_id', name=op.f('uq_pay_topups_payment_intent_id')),
    )
    op.create_index('ix_pay_topups_firm_id_created_at', 'pay_topups', ['firm_id', 'created_at'])
    op.create_table(
        'pay_net_terms',
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('credit_limit_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('granted_at', UTC, nullable=False),
        sa.CheckConstraint('days IN (7, 15, 30)', name=op.f('ck_pay_net_terms_days')),
        sa.CheckConstraint('credit_limit_cents > 0',
                           name=op.f('ck_pay_net_terms_credit_limit_positive')),
        _fk('pay_net_terms', 'firm_id', 'firms'),
        _fk('pay_net_terms', 'granted_by_id', 'users'),
        sa.PrimaryKeyConstraint('firm_id', name=op.f('pk_pay_net_terms')),
    )
    op.create_table(
        'pay_stripe_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=80), nullable=False),
        sa.Column('type', sa.String(length=80), nullable=False),
        sa.Column('account', sa.String(length=64), nullable=True),
        sa.Column('object_id', sa.String(length=80), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('created', UTC, nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_stripe_events')),
        sa.UniqueConstraint('event_id', name=op.f('uq_pay_stripe_events_event_id')),
    )
    op.create_index('ix_pay_stripe_events_type_received_at', 'pay_stripe_events',
                    ['type', 'received_at'])


def downgrade():
    op.drop_index('ix_pay_stripe_events_type_received_at', table_name='pay_stripe_events')
    op.drop_table('pay_stripe_events')
    op.drop_table('pay_net_terms')
    op.drop_index('ix_pay_topups_firm_id_created_at', table_name='pay_topups')
    op.drop_table('pay_topups')
    op.drop_table('pay_connected_accounts')
