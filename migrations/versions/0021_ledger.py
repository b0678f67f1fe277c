"""Pay: the double-entry ledger (accounts, transactions, immutable entries), firm pay
settings and payables.

On PostgreSQL the database itself refuses an unbalanced transaction (a deferred
constraint trigger: each transaction's entries sum to zero per currency at commit),
and any UPDATE or DELETE of entries and transactions; a check refuses zero entries
and a foreign key on (account, currency) refuses an entry in another currency than
its account's.

Revision ID: 0021_ledger
Revises: 0020_perf_indexes
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0021_ledger'
down_revision = '0020_perf_indexes'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)


def _enum(*values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


KINDS = ('firm_available', 'firm_pending', 'firm_reserved', 'firm_credit', 'tech_payable',
         'tech_in_transit', 'tech_paid_out', 'platform_fees', 'platform_stripe_fees',
         'platform_clearing')

PG_UP = """
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT currency, SUM(amount_cents) AS total INTO bad FROM ledger_entries
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency HAVING SUM(amount_cents) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %: off by %',
            NEW.transaction_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (post a correction instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

PG_DOWN = """
DROP TRIGGER IF EXISTS ledger_transactions_immutable ON ledger_transactions;
DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries;
DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP FUNCTION IF EXISTS ledger_check_balanced();
"""


def upgrade():
    op.create_table(
        'ledger_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum(*KINDS, length=24), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('balance_cents', sa.BigInteger(), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
        sa.UniqueConstraint('kind', 'owner_id', 'currency',
                            name=op.f('uq_ledger_accounts_kind_owner_id_currency')),
        sa.UniqueConstraint('id', 'currency', name=op.f('uq_ledger_accounts_id_currency')),
    )
    op.create_table(
        'ledger_transactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('memo', sa.String(length=200), nullable=False),
        sa.Column('ref', sa.String(length=80), nullable=False),
        sa.Column('posted_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
        sa.UniqueConstraint('key', name=op.f('uq_ledger_transactions_key')),
    )
    op.create_index('ix_ledger_transactions_ref', 'ledger_transactions', ['ref'])
    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transaction_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('amount_cents <> 0', name=op.f('ck_ledger_entries_nonzero')),
        sa.ForeignKeyConstraint(['account_id', 'currency'],
                                ['ledger_accounts.id', 'ledger_accounts.currency'],
                                name=op.f('fk_ledger_entries_account_id_ledger_accounts')),
        sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'],
                                name=op.f('fk_ledger_entries_transaction_id_ledger_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    )
    op.create_index('ix_ledger_entries_account', 'ledger_entries', ['account_id', 'id'])
    op.create_index('ix_ledger_entries_transaction', 'ledger_entries', ['transaction_id'])
    op.create_table(
        'pay_firm_settings',
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('auto_approve_days', sa.Integer(), nullable=False),
        sa.Column('payment_terms_days', sa.Integer(), nullable=False),
        sa.Column('platform_fee_bps', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'],
                                name=op.f('fk_pay_firm_settings_firm_id_firms')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_pay_firm_settings_updated_by_id_users')),
        sa.PrimaryKeyConstraint('firm_id', name=op.f('pk_pay_firm_settings')),
    )
    op.create_table(
        'payables',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum('work', 'cancellation', length=12), nullable=False),
        sa.Column('labour_cents', sa.BigInteger(), nullable=False),
        sa.Column('expenses_cents', sa.BigInteger(), nullable=False),
        sa.Column('fee_cents', sa.BigInteger(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('approved_at', UTC, nullable=False),
        sa.Column('auto_approved', sa.Boolean(), nullable=False),
        sa.Column('payment_terms_days', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', _enum('pending', 'paying', 'paid', 'failed', 'reversed', length=10),
                  nullable=False),
        sa.Column('transaction_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_payables_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_payables_technician_id_technicians')),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_payables_firm_id_firms')),
        sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'],
                                name=op.f('fk_payables_transaction_id_ledger_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payables')),
        sa.UniqueConstraint('assignment_id', name=op.f('uq_payables_assignment_id')),
    )
    op.create_index('ix_payables_status_due', 'payables', ['status', 'due_on'])
    op.create_index('ix_payables_technician', 'payables', ['technician_id', 'approved_at'])
    op.create_index('ix_payables_firm', 'payables', ['firm_id', 'approved_at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_UP)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_DOWN)
    op.drop_index('ix_payables_firm', table_name='payables')
    op.drop_index('ix_payables_technician', table_name='payables')
    op.drop_index('ix_payables_status_due', table_name='payables')
    op.drop_table('payables')
    op.drop_table('pay_firm_settings')
    op.drop_index('ix_ledger_entries_transaction', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_account', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_ledger_transactions_ref', table_name='ledger_transactions')
    op.drop_table('ledger_transactions')
    op.drop_table('ledger_accounts')
