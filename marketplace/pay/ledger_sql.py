"""The ledger's writes, per database: one posted transaction, and the roll-up of deltas.

A posted line on an account that gates a decision (a firm's funds, a technician's
payable) updates that account's running balance under a row lock; a line on a
rolled-up account (the platform's own, which nearly every movement touches and no
decision reads) is appended as a delta row instead, so posts never queue on those
rows. `roll_up` folds the committed deltas into the running balances: it deletes the
delta rows it sees and adds them to their accounts in one transaction, so a reader's
balance (running balance plus remaining deltas, read in one statement) is exact before,
during and after it, and a delta committed while it runs waits for the next one.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from ..errors import InvalidState
from ..extensions import db
from .ledger_models import LedgerAccount, LedgerDelta, LedgerEntry, LedgerTransaction

Row = tuple[int, str, int]        # account id, currency, amount


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def upsert(model):
    """The dialect's INSERT (with ON CONFLICT)."""
    return (postgresql if is_postgres() else sqlite).insert(model)


# One round trip: ledger_post() (migration 0030) writes the transaction (nothing more if its
# key exists), its entries, the deltas of rolled-up accounts, and updates the running
# balances of the others, locked in id order. FOR NO KEY UPDATE: the entries' foreign-key
# checks (KEY SHARE) of other posts do not wait on it, nor it on them. A function because
# the server keeps its statements' plans; the same statements sent as one query were planned
# again at every post. Sent to the driver on the session's connection, in its transaction:
# SQLAlchemy's handling of the statement cost a sixth of a post; its errors are raised as
# SQLAlchemy raises them.
_PG_POST = ("SELECT * FROM ledger_post(%(key)s, %(memo)s, %(ref)s, %(posted_at)s, "
            "%(ids)s, %(currencies)s, %(deltas)s, %(rolled)s)")


def _array(values) -> str:
    """An array literal of ids, amounts or currency codes (nothing to quote): cheaper to send
    than a list the driver inspects element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def post_postgres(key, memo, ref, now, rows: list[Row], rolled: set[int]):
    """(transaction id or None when the key exists, {account id: (id, balance, count)} of the
    locked accounts)."""
    ordered = sorted(rows)
    params = {"key": key, "memo": memo, "ref": ref, "posted_at": now,
              "ids": _array(r[0] for r in ordered), "currencies": _array(r[1] for r in ordered),
              "deltas": _array(r[2] for r in ordered), "rolled": _array(sorted(rolled))}
    driver = db.session.connection().connection.driver_connection
    try:
        result = driver.execute(_PG_POST, params).fetchall()
    except driver.Error as exc:     # as SQLAlchemy raises it (IntegrityError, ...)
        raise DBAPIError.instance(_PG_POST, params, exc, type(driver).Error) from exc
    if not result:
        return None, {}
    return result[0][0], {row[1]: tuple(row[1:]) for row in result if row[1] is not None}


_LITE_APPLY = text("UPDATE ledger_accounts SET balance_cents = balance_cents + :delta, "
                   "entry_count = entry_count + 1 WHERE id = :id "
                   "RETURNING id, balance_cents, entry_count")


def _check_currencies(rows: list[Row]) -> None:
    """An entry's currency is its account's (on PostgreSQL the foreign key says so)."""
    stored = dict(db.session.execute(select(LedgerAccount.id, LedgerAccount.currency).where(
        LedgerAccount.id.in_([aid for aid, _, _ in rows]))).all())
    for aid, currency, _ in rows:
        if stored.get(aid) != currency:
            raise InvalidState("A ledger entry's currency must be its account's.",
                               code="ledger_refused")


def post_portable(key, memo, ref, now, rows: list[Row], rolled: set[int]):
    """SQLite: the same steps one statement at a time (the database's write lock serialises)."""
    _check_currencies(rows)
    tx_id = db.session.scalar(
        upsert(LedgerTransaction).values(key=key, memo=memo, ref=ref, posted_at=now)
        .on_conflict_do_nothing(index_elements=["key"]).returning(LedgerTransaction.id))
    if tx_id is None:
        return None, {}
    fresh = {}
    for aid, cur, amount in sorted(rows):
        entry_id = db.session.scalar(insert(LedgerEntry).values(
            transaction_id=tx_id, account_id=aid, currency=cur, amount_cents=amount)
            .returning(LedgerEntry.id))
        if aid in rolled:
            db.session.execute(insert(LedgerDelta).values(
                account_id=aid, entry_id=entry_id, amount_cents=amount))
        else:
            row = db.session.execute(_LITE_APPLY, {"id": aid, "delta": amount}).one()
            fresh[row[0]] = tuple(row)
    return tx_id, fresh


def replayed(key: str, rows: list[Row]) -> LedgerTransaction:
    tx = db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.key == key))
    stored = sorted(tuple(row) for row in db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.currency, LedgerEntry.amount_cents)
        .where(LedgerEntry.transaction_id == tx.id)))
    if stored != sorted(rows):
        raise InvalidState(f"The ledger already holds a different transaction under {key!r}.",
                           code="ledger_key_reused")
    return tx


# Deletes the committed deltas it sees and adds them to their accounts, in one statement.
# A delta committed meanwhile is not seen and stays for the next roll-up; two roll-ups at
# once each fold what the other did not take (a deleted row is skipped, the account's
# update waits and adds on top).
_PG_ROLL_UP = text("""
WITH gone AS (DELETE FROM ledger_deltas RETURNING account_id, amount_cents),
sums AS (SELECT account_id, sum(amount_cents) AS total, count(*) AS n
           FROM gone GROUP BY account_id)
UPDATE ledger_accounts AS a
   SET balance_cents = a.balance_cents + sums.total, entry_count = a.entry_count + sums.n
  FROM sums WHERE a.id = sums.account_id
RETURNING a.id, sums.n""")


def roll_up() -> dict[int, int]:
    """Fold every committed delta into its account's running balance: {account id: entries}."""
    if is_postgres():
        return {aid: int(n) for aid, n in db.session.execute(_PG_ROLL_UP)}
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for aid, amount in db.session.execute(
            delete(LedgerDelta).returning(LedgerDelta.account_id, LedgerDelta.amount_cents)):
        sums[aid][0] += amount
        sums[aid][1] += 1
    for aid, (total, n) in sorted(sums.items()):
        db.session.execute(text(
            "UPDATE ledger_accounts SET balance_cents = balance_cents + :total, "
            "entry_count = entry_count + :n WHERE id = :id"), {"total": total, "n": n, "id": aid})
    return {aid: n for aid, (_, n) in sums.items()}
