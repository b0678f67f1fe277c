"""The double-entry ledger: accounts, transactions and their immutable entries.

Every movement of money is one transaction whose entries (signed integer cents)
sum to zero per currency; it is written in the caller's database transaction,
next to the business change it records, under a unique idempotency key and a
reference to its cause. Sign convention: an entry adds to its account's
balance, so a move of x takes x from the source (-x) and gives it to the
target (+x); every balance is what that account holds (FIRM_CREDIT goes
negative by what the firm owes).

Each account keeps a running balance, updated in the same transaction under a
row lock taken in account-id order (no deadlocks between two posts). On
PostgreSQL the database refuses on its own an unbalanced transaction (a
deferred constraint trigger), a zero entry (a check), an entry whose currency
is not its account's (a foreign key on account and currency) and any UPDATE or
DELETE of entries or transactions; the same checks run here for SQLite.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, ForeignKeyConstraint, Index,
                        Integer, String, UniqueConstraint, func, select, text)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..errors import InvalidState
from ..extensions import db

PLATFORM = 0          # owner_id of the platform's own accounts


class Kind(StrEnum):
    FIRM_AVAILABLE = "firm_available"
    FIRM_PENDING = "firm_pending"
    FIRM_RESERVED = "firm_reserved"
    FIRM_CREDIT = "firm_credit"
    TECH_PAYABLE = "tech_payable"
    TECH_IN_TRANSIT = "tech_in_transit"
    TECH_PAID_OUT = "tech_paid_out"
    PLATFORM_FEES = "platform_fees"
    PLATFORM_STRIPE_FEES = "platform_stripe_fees"
    PLATFORM_CLEARING = "platform_clearing"

    @property
    def is_platform(self) -> bool:
        return self.value.startswith("platform_")

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class LedgerAccount(db.Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_id", "currency"),
        # The target of the entries' (account_id, currency) key: an entry's currency is its account's.
        UniqueConstraint("id", "currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, 24))
    owner_id: Mapped[int] = mapped_column(Integer, default=PLATFORM)   # firm, technician or 0
    currency: Mapped[str] = mapped_column(String(3))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def owner(self) -> int | None:
        return None if self.owner_id == PLATFORM else self.owner_id

    def __repr__(self) -> str:
        return f"<LedgerAccount {self.kind.value}:{self.owner_id} {self.currency}>"


class LedgerTransaction(db.Model):
    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_ref", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    memo: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(80))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "currency"],
                             ["ledger_accounts.id", "ledger_accounts.currency"]),
        CheckConstraint("amount_cents <> 0", name="nonzero"),
        Index("ix_ledger_entries_account", "account_id", "id"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


Line = tuple[LedgerAccount, int]


def _owner_key(kind: Kind, owner_id: int | None) -> int:
    if kind.is_platform:
        if owner_id not in (None, PLATFORM):
            raise ValueError(f"{kind.value} belongs to the platform, not an owner")
        return PLATFORM
    if owner_id is None or owner_id <= 0:
        raise ValueError(f"{kind.value} needs an owner")
    return owner_id


def account(kind: Kind | str, owner_id: int | None, currency: str = "USD") -> LedgerAccount:
    """The account of this kind, owner and currency, created the first time it is asked for."""
    kind = Kind(kind)
    owner = _owner_key(kind, owner_id)
    currency = currency.upper()
    where = (LedgerAccount.kind == kind, LedgerAccount.owner_id == owner,
             LedgerAccount.currency == currency)
    found = db.session.scalar(select(LedgerAccount).where(*where))
    if found is not None:
        return found
    values = {"kind": kind.value, "owner_id": owner, "currency": currency, "balance_cents": 0,
              "entry_count": 0, "created_at": clock.now()}
    db.session.execute(_insert(LedgerAccount).values(**values).on_conflict_do_nothing())
    return db.session.scalar(select(LedgerAccount).where(*where))


def _insert(model):
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def _checked(lines: list[Line]) -> list[tuple[int, str, int]]:
    """(account id, currency, amount) per line, or why the ledger refuses them."""
    if len(lines) < 2:
        raise InvalidState("A ledger transaction needs at least two entries.", code="ledger_refused")
    rows, totals, seen = [], defaultdict(int), set()
    for acct, amount in lines:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidState("Ledger amounts are whole cents.", code="ledger_refused")
        if amount == 0:
            raise InvalidState("A ledger entry cannot be zero.", code="ledger_refused")
        if acct.id is None or acct.id in seen:
            raise InvalidState("Each account appears once in a ledger transaction.",
                               code="ledger_refused")
        seen.add(acct.id)
        rows.append((acct.id, acct.currency, amount))
        totals[acct.currency] += amount
    unbalanced = {cur: total for cur, total in totals.items() if total}
    if unbalanced:
        raise InvalidState(f"A ledger transaction must balance; off by {unbalanced}.",
                           code="ledger_unbalanced")
    return rows


def post(key: str, *, memo: str, ref: str, lines: list[Line]) -> LedgerTransaction:
    """Record one balanced transaction; the same key again returns the first one."""
    rows = _checked(lines)
    if not key or len(key) > 160:
        raise InvalidState("A ledger transaction needs a key of at most 160 characters.",
                           code="ledger_refused")
    now, memo, ref = clock.now(), memo[:200], ref[:80]
    if db.session.get_bind().dialect.name == "postgresql":
        tx_id, fresh = _post_postgres(key, memo, ref, now, rows)
    else:
        tx_id, fresh = _post_portable(key, memo, ref, now, rows, lines)
    if tx_id is None:
        return _replayed(key, rows)
    if len(fresh) != len(rows):
        raise InvalidState("A ledger account is missing.", code="ledger_refused")
    for acct, _ in lines:   # keep loaded accounts in step without reading them again
        _, bal, count = fresh[acct.id]
        set_committed_value(acct, "balance_cents", bal)
        set_committed_value(acct, "entry_count", count)
    tx = LedgerTransaction(id=tx_id, key=key, memo=memo, ref=ref, posted_at=now)
    make_transient_to_detached(tx)
    db.session.add(tx)
    return tx


def move(key: str, *, memo: str, ref: str, source: LedgerAccount, target: LedgerAccount,
         amount_cents: int) -> LedgerTransaction:
    """Take amount_cents from source and give it to target (source -x, target +x)."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise InvalidState("A move is of a positive whole number of cents.", code="ledger_refused")
    return post(key, memo=memo, ref=ref, lines=[(source, -amount_cents), (target, amount_cents)])


def balance(acct: LedgerAccount) -> int:
    """The account's balance: the sum of its entries, kept as its running balance."""
    return db.session.scalar(select(LedgerAccount.balance_cents)
                             .where(LedgerAccount.id == acct.id)) or 0


def balance_of(kind: Kind | str, owner_id: int | None, currency: str = "USD") -> int:
    """A balance without creating the account (0 when it has never moved)."""
    kind = Kind(kind)
    return db.session.scalar(select(LedgerAccount.balance_cents).where(
        LedgerAccount.kind == kind, LedgerAccount.owner_id == _owner_key(kind, owner_id),
        LedgerAccount.currency == currency.upper())) or 0


def balances_of(owner_id: int, kinds: list[Kind], currency: str = "USD") -> dict[Kind, int]:
    """Several of one owner's balances in one statement (0 for an account never moved)."""
    found = dict(db.session.execute(select(LedgerAccount.kind, LedgerAccount.balance_cents).where(
        LedgerAccount.owner_id == owner_id, LedgerAccount.currency == currency.upper(),
        LedgerAccount.kind.in_(kinds))).all())
    return {Kind(kind): found.get(kind, 0) for kind in kinds}


def _check_currencies(lines: list[Line]) -> None:
    """An entry's currency is its account's (on PostgreSQL the foreign key says so)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return
    stored = dict(db.session.execute(select(LedgerAccount.id, LedgerAccount.currency).where(
        LedgerAccount.id.in_([acct.id for acct, _ in lines]))).all())
    for acct, _ in lines:
        if stored.get(acct.id) != acct.currency:
            raise InvalidState("A ledger entry's currency must be its account's.",
                               code="ledger_refused")


# One round trip: the transaction (nothing more if its key exists), its entries, and the
# running balances, the accounts locked first in one total order (the platform's own,
# touched by many posts, last: held for the shortest time). FOR NO KEY UPDATE: the entries'
# foreign-key checks (KEY SHARE) of other posts do not wait on it, nor it on them.
_PG_POST = text("""
WITH tx AS (
    INSERT INTO ledger_transactions (key, memo, ref, posted_at)
    VALUES (:key, :memo, :ref, :posted_at) ON CONFLICT (key) DO NOTHING RETURNING id),
entries AS (
    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents)
    SELECT tx.id, d.id, d.currency, d.delta
      FROM tx, unnest(CAST(:ids AS bigint[]), CAST(:currencies AS varchar[]),
                      CAST(:deltas AS bigint[])) AS d(id, currency, delta)
    RETURNING 1),
locked AS MATERIALIZED (
    SELECT id FROM ledger_accounts WHERE id = ANY(:ids) AND EXISTS (SELECT 1 FROM tx)
     ORDER BY owner_id = 0, id FOR NO KEY UPDATE),
moved AS (
    UPDATE ledger_accounts AS a
       SET balance_cents = a.balance_cents + d.delta, entry_count = a.entry_count + 1
      FROM locked JOIN unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS d(id, delta)
           ON d.id = locked.id
     WHERE a.id = locked.id
    RETURNING a.id, a.balance_cents, a.entry_count)
SELECT (SELECT id FROM tx), moved.id, moved.balance_cents, moved.entry_count FROM moved""")

_LITE_APPLY = text("UPDATE ledger_accounts SET balance_cents = balance_cents + :delta, "
                   "entry_count = entry_count + 1 WHERE id = :id "
                   "RETURNING id, balance_cents, entry_count")


def _post_postgres(key, memo, ref, now, rows):
    ordered = sorted(rows)
    result = db.session.execute(_PG_POST, {
        "key": key, "memo": memo, "ref": ref, "posted_at": now,
        "ids": [r[0] for r in ordered], "currencies": [r[1] for r in ordered],
        "deltas": [r[2] for r in ordered]}).all()
    if not result:
        return None, {}
    return result[0][0], {row[1]: tuple(row[1:]) for row in result}


def _post_portable(key, memo, ref, now, rows, lines):
    """SQLite: the same steps one statement at a time (the database's write lock serialises)."""
    _check_currencies(lines)
    tx_id = db.session.scalar(
        _insert(LedgerTransaction).values(key=key, memo=memo, ref=ref, posted_at=now)
        .on_conflict_do_nothing(index_elements=["key"]).returning(LedgerTransaction.id))
    if tx_id is None:
        return None, {}
    db.session.execute(LedgerEntry.__table__.insert(), [
        {"transaction_id": tx_id, "account_id": aid, "currency": cur, "amount_cents": amount}
        for aid, cur, amount in rows])
    fresh = {}
    for aid, _, delta in sorted(rows):
        row = db.session.execute(_LITE_APPLY, {"id": aid, "delta": delta}).one()
        fresh[row[0]] = tuple(row)
    return tx_id, fresh


def _replayed(key: str, rows: list[tuple[int, str, int]]) -> LedgerTransaction:
    tx = db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.key == key))
    stored = sorted(tuple(row) for row in db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.currency, LedgerEntry.amount_cents)
        .where(LedgerEntry.transaction_id == tx.id)))
    if stored != sorted(rows):
        raise InvalidState(f"The ledger already holds a different transaction under {key!r}.",
                           code="ledger_key_reused")
    return tx


def entries_of(tx: LedgerTransaction) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.transaction_id == tx.id).order_by(LedgerEntry.id)))


def sum_by_ref(kind: Kind | str, owner_id: int | None, ref: str, currency: str = "USD") -> int:
    """What the transactions caused by `ref` added to one account (e.g. an assignment's reserve)."""
    kind = Kind(kind)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.ref == ref, LedgerAccount.kind == kind,
               LedgerAccount.owner_id == _owner_key(kind, owner_id),
               LedgerAccount.currency == currency.upper())) or 0)


@dataclass(frozen=True)
class Difference:
    """An account whose running balance is not the sum of its entries, or an unbalanced transaction."""
    what: str
    ident: int
    label: str
    expected: int
    found: int


def verify() -> list[Difference]:
    """Recompute every balance from the entries and every transaction's sum per currency."""
    sums = (select(LedgerEntry.account_id.label("aid"),
                   func.sum(LedgerEntry.amount_cents).label("total"),
                   func.count(LedgerEntry.id).label("n"))
            .group_by(LedgerEntry.account_id).subquery())
    found = []
    A = LedgerAccount
    for aid, kind, owner, cur, bal, count, total, n in db.session.execute(
            select(A.id, A.kind, A.owner_id, A.currency, A.balance_cents, A.entry_count,
                   func.coalesce(sums.c.total, 0), func.coalesce(sums.c.n, 0))
            .outerjoin(sums, sums.c.aid == A.id).order_by(A.id)):
        if int(total) != bal or int(n) != count:
            found.append(Difference("account", aid, f"{Kind(kind).value}:{owner} {cur}",
                                    int(total), bal))
    for tx_id, currency, total in db.session.execute(
            select(LedgerEntry.transaction_id, LedgerEntry.currency,
                   func.sum(LedgerEntry.amount_cents))
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount_cents) != 0)):
        found.append(Difference("transaction", tx_id, currency, 0, int(total)))
    return found


def trial_balance() -> dict[str, int]:
    """Per currency, the sum of every account's balance: zero when the books are whole."""
    return {cur: int(total) for cur, total in db.session.execute(
        select(LedgerAccount.currency, func.sum(LedgerAccount.balance_cents))
        .group_by(LedgerAccount.currency))}


__all__ = ["Kind", "LedgerAccount", "LedgerTransaction", "LedgerEntry", "Difference", "account",
           "post", "move", "balance", "balance_of", "entries_of", "sum_by_ref", "verify",
           "trial_balance"]
