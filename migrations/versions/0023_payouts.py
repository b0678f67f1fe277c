"""Pay: payout intents (one Stripe Transfer per payable), instant payouts, numbered
invoices and payment statements.

Revision ID: 0023_payouts
Revises: 0022_pay_rails
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0023_payouts'
down_revision = '0022_pay_rails'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)


def _enum(*values):
    return sa.Enum(*values, native_enum=False, length=10, create_constraint=False)


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade():
    op.create_table(
        'payout_intents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('ledger_txn_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('destination', sa.String(length=64), nullable=False),
        sa.Column('transfer_group', sa.String(length=64), nullable=False),
        sa.Column('status', _enum('pending', 'sent', 'failed', 'reversed'), nullable=False),
        sa.Column('retries', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('key_created_at', UTC, nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('transfer_id', sa.String(length=64), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('sent_at', UTC, nullable=True),
        sa.Column('reversed_cents', sa.Integer(), nullable=False),
        _fk('payout_intents', 'assignment_id', 'assignments'),
        _fk('payout_intents', 'technician_id', 'technicians'),
        _fk('payout_intents', 'firm_id', 'firms'),
        _fk('payout_intents', 'ledger_txn_id', 'ledger_transactions'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_intents')),
        sa.UniqueConstraint('key', name=op.f('uq_payout_intents_key')),
        sa.UniqueConstraint('assignment_id', name=op.f('uq_payout_intents_assignment_id')),
        sa.UniqueConstraint('ledger_txn_id', name=op.f('uq_payout_intents_ledger_txn_id')),
        sa.UniqueConstraint('transfer_id', name=op.f('uq_payout_intents_transfer_id')),
    )
    op.create_index('ix_payout_intents_status', 'payout_intents', ['status', 'next_attempt_at'])
    op.create_index('ix_payout_intents_technician_id', 'payout_intents', ['technician_id'])
    op.create_index('ix_payout_intents_firm_id', 'payout_intents', ['firm_id'])
    op.create_table(
        'instant_payouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=64), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('fee_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('status', _enum('requested', 'pending', 'paid', 'failed'), nullable=False),
        sa.Column('payout_id', sa.String(length=64), nullable=True),
        sa.Column('arrival_date', sa.Date(), nullable=True),
        sa.Column('failure', sa.Text(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        _fk('instant_payouts', 'technician_id', 'technicians'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instant_payouts')),
        sa.UniqueConstraint('key', name=op.f('uq_instant_payouts_key')),
        sa.UniqueConstraint('payout_id', name=op.f('uq_instant_payouts_payout_id')),
    )
    op.create_index('ix_instant_payouts_technician_id', 'instant_payouts', ['technician_id'])
    op.create_table(
        'pay_document_series',
        sa.Column('series', sa.String(length=20), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('series', name=op.f('pk_pay_document_series')),
    )
    op.create_table(
        'pay_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum('invoice', 'statement'), nullable=False),
        sa.Column('series', sa.String(length=20), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('labour_cents', sa.Integer(), nullable=False),
        sa.Column('expenses_cents', sa.Integer(), nullable=False),
        sa.Column('fee_cents', sa.Integer(), nullable=False),
        sa.Column('total_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('payout_date', sa.Date(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('issued_at', UTC, nullable=False),
        _fk('pay_documents', 'assignment_id', 'assignments'),
        _fk('pay_documents', 'firm_id', 'firms'),
        _fk('pay_documents', 'technician_id', 'technicians'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_documents')),
        sa.UniqueConstraint('series', 'number', name=op.f('uq_pay_documents_series_number')),
        sa.UniqueConstraint('kind', 'assignment_id',
                            name=op.f('uq_pay_documents_kind_assignment_id')),
    )
    op.create_index('ix_pay_documents_firm', 'pay_documents', ['firm_id', 'issued_at'])
    op.create_index('ix_pay_documents_technician', 'pay_documents',
                    ['technician_id', 'issued_at'])


def downgrade():
    op.drop_table('pay_documents')
    op.drop_table('pay_document_series')
    op.drop_table('instant_payouts')
    op.drop_table('payout_intents')
