"""Pay: the deltas of the ledger's rolled-up accounts (the platform's own), appended by
each post instead of a locked running-balance update and folded in by the roll-up; on
PostgreSQL, a post is one call of ledger_post() (its statements' plans kept by the
server instead of planned again for every post), and half-empty pages for the
running balances so that their updates stay HOT.

Revision ID: 0030_pay
Revises: 0029_rate
Create Date: 2026-12-05 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0030_pay'
down_revision = '0029_rate'
branch_labels = None
depends_on = None


PG_UP = """
-- Room on each page for the next version of a running balance: its update stays HOT (no
-- new index entries) instead of touching the account's three indexes every post.
ALTER TABLE ledger_accounts SET (fillfactor = 50);

CREATE FUNCTION ledger_post(p_key varchar, p_memo varchar, p_ref varchar,
                            p_posted_at timestamptz, p_ids integer[], p_currencies varchar[],
                            p_deltas bigint[], p_rolled integer[])
RETURNS TABLE (tx_id integer, acct_id integer, balance bigint, entries integer)
LANGUAGE plpgsql AS $$
DECLARE
    tx integer;
BEGIN
    INSERT INTO ledger_transactions (key, memo, ref, posted_at)
    VALUES (p_key, p_memo, p_ref, p_posted_at) ON CONFLICT (key) DO NOTHING RETURNING id INTO tx;
    IF tx IS NULL THEN
        RETURN;
    END IF;
    WITH e AS (
        INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents)
        SELECT tx, d.id, d.currency, d.delta
          FROM unnest(p_ids, p_currencies, p_deltas) AS d(id, currency, delta)
        RETURNING id, account_id, amount_cents)
    INSERT INTO ledger_deltas (account_id, entry_id, amount_cents)
    SELECT e.account_id, e.id, e.amount_cents FROM e WHERE e.account_id = ANY(p_rolled);
    RETURN QUERY
    WITH locked AS MATERIALIZED (
        SELECT a.id FROM ledger_accounts a
         WHERE a.id = ANY(p_ids) AND NOT a.id = ANY(p_rolled)
         ORDER BY a.id FOR NO KEY UPDATE)
    UPDATE ledger_accounts AS a
       SET balance_cents = a.balance_cents + d.delta, entry_count = a.entry_count + 1
      FROM locked JOIN unnest(p_ids, p_deltas) AS d(id, delta) ON d.id = locked.id
     WHERE a.id = locked.id
    RETURNING tx, a.id, a.balance_cents, a.entry_count;
    IF NOT FOUND THEN
        RETURN QUERY SELECT tx, NULL::integer, NULL::bigint, NULL::integer;
    END IF;
END $$;
"""


def upgrade():
    op.create_table(
        'ledger_deltas',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'entry_id', name=op.f('pk_ledger_deltas')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_UP)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE ledger_accounts RESET (fillfactor)")
        op.execute("DROP FUNCTION IF EXISTS ledger_post(varchar, varchar, varchar, timestamptz, "
                   "integer[], varchar[], bigint[], integer[])")
    op.execute("""
        UPDATE ledger_accounts
           SET balance_cents = balance_cents + (SELECT sum(d.amount_cents) FROM ledger_deltas d
                                                 WHERE d.account_id = ledger_accounts.id),
               entry_count = entry_count + (SELECT count(*) FROM ledger_deltas d
                                             WHERE d.account_id = ledger_accounts.id)
         WHERE id IN (SELECT account_id FROM ledger_deltas)""")
    op.drop_table('ledger_deltas')
