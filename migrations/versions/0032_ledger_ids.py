"""Pay: the ledger's transaction and entry ids are 64-bit, and every column naming one.

32-bit ids (2,147,483,647 at most) would run out within days at the ledger benchmark's
sustained rate, and within a few years of a busy marketplace: a ledger is never pruned.
On PostgreSQL the columns, their sequences and `ledger_post()` (which returns the new
transaction's id) become bigint; SQLite's INTEGER is already 64-bit. `ledger_post()`
also writes the entries of a post that touches no platform account with one plain
INSERT (two in three posts), without the step that appends the platform's deltas.

Revision ID: 0032_ledger_ids
Revises: 0031_ledger_plans
Create Date: 2026-12-05 18:10:00

"""
from alembic import op

revision = '0032_ledger_ids'
down_revision = '0031_ledger_plans'
branch_labels = None
depends_on = None

COLUMNS = (("ledger_transactions", "id"), ("ledger_entries", "id"),
           ("ledger_entries", "transaction_id"), ("ledger_deltas", "entry_id"),
           ("payout_intents", "ledger_txn_id"), ("payables", "transaction_id"))
SEQUENCES = ("ledger_transactions_id_seq", "ledger_entries_id_seq")
ARGS = "varchar, varchar, varchar, timestamptz, integer[], varchar[], bigint[], integer[]"

POST_64 = """
CREATE FUNCTION ledger_post(p_key varchar, p_memo varchar, p_ref varchar,
                            p_posted_at timestamptz, p_ids integer[], p_currencies varchar[],
                            p_deltas bigint[], p_rolled integer[])
RETURNS TABLE (tx_id bigint, acct_id integer, balance bigint, entries integer)
LANGUAGE plpgsql AS $$
DECLARE
    tx bigint;
BEGIN
    INSERT INTO ledger_transactions (key, memo, ref, posted_at)
    VALUES (p_key, p_memo, p_ref, p_posted_at) ON CONFLICT (key) DO NOTHING RETURNING id INTO tx;
    IF tx IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(p_rolled) = 0 THEN    -- no platform account: no deltas to append
        INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents)
        SELECT tx, d.id, d.currency, d.delta
          FROM unnest(p_ids, p_currencies, p_deltas) AS d(id, currency, delta);
    ELSE
        WITH e AS (
            INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents)
            SELECT tx, d.id, d.currency, d.delta
              FROM unnest(p_ids, p_currencies, p_deltas) AS d(id, currency, delta)
            RETURNING id, account_id, amount_cents)
        INSERT INTO ledger_deltas (account_id, entry_id, amount_cents)
        SELECT e.account_id, e.id, e.amount_cents FROM e WHERE e.account_id = ANY(p_rolled);
    END IF;
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


def _post_32() -> str:
    """0030's definition, read from that revision rather than copied here (its ALTER
    of the accounts' fillfactor, run again, changes nothing)."""
    return op.get_context().script.get_revision("0030_pay").module.PG_UP


def _post(definition: str) -> None:
    op.execute(f"DROP FUNCTION ledger_post({ARGS})")
    op.execute(definition)
    op.execute(f"ALTER FUNCTION ledger_post({ARGS}) SET plan_cache_mode = force_generic_plan")


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bigint")
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")
    _post(POST_64)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    _post(_post_32())
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE integer")
