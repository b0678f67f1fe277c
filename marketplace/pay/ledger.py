"""The double-entry ledger: accounts, transactions and their immutable entries.

Every movement of money is one transaction whose entries (signed integer cents)
sum to zero per currency; it is written in the caller's database transaction,
next to the business change it records, under a unique idempotency key and a
reference to its cause. Sign convention: an entry adds to its account's
balance, so a move of x takes x from the source (-x) and gives it to the
target (+x); every balance is what that account holds (FIRM_CREDIT goes
negative by what the firm owes).

An account whose balance gates a decision (a firm's funds and credit, a
technician's payable) keeps a running balance, updated in the same transaction
under a row lock taken in account-id order (no deadlocks between two posts). The
platform's own accounts, touched by most movements and read by no decision, are
rolled up instead: a post appends a delta row next to the entry, and `roll_up`
(`flask pay roll-up`, and the beat every minute) folds the committed deltas into the
running balance; their balance is the running balance plus the deltas still
there, read in one statement, so it is exact at any moment (ledger_sql.py). On
PostgreSQL the database refuses on its own an unbalanced transaction (a
deferred constraint trigger), a zero entry (a check), an entry whose currency
is not its account's (a foreign key on account and currency) and any UPDATE or
DELETE of entries or transactions; the same checks run here for SQLite.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from ..core import clock
from ..errors import InvalidState
from ..extensions import db
from . import ledger_sql
from .ledger_models import (PLATFORM, Kind, LedgerAccount, LedgerDelta, LedgerEntry,
                            LedgerTransaction)
from .ledger_sql import upsert


Line = tuple[LedgerAccount, int]
_ROLLED_UP = frozenset(kind for kind in Kind if kind.rolled_up)


@dataclass(frozen=True, slots=True)
class Posted:
    """A transaction as posted (or as first posted, for a key seen before)."""
    id: int
    key: str
    memo: str
    ref: str
    posted_at: datetime


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
    db.session.execute(upsert(LedgerAccount).values(**values).on_conflict_do_nothing())
    return db.session.scalar(select(LedgerAccount).where(*where))


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


def post(key: str, *, memo: str, ref: str, lines: list[Line]) -> Posted:
    """Record one balanced transaction; the same key again returns the first one (a key
    reused for different lines is refused)."""
    rows = _checked(lines)
    if not key or len(key) > 160:
        raise InvalidState("A ledger transaction needs a key of at most 160 characters.",
                           code="ledger_refused")
    now, memo, ref = clock.now(), memo[:200], ref[:80]
    rolled = {acct.id for acct, _ in lines if acct.kind in _ROLLED_UP}
    write = ledger_sql.post_postgres if ledger_sql.is_postgres() else ledger_sql.post_portable
    tx_id, fresh = write(key, memo, ref, now, rows, rolled)
    if tx_id is None:
        first = ledger_sql.replayed(key, rows)
        return Posted(first.id, first.key, first.memo, first.ref, first.posted_at)
    if len(fresh) != len(rows) - len(rolled):
        raise InvalidState("A ledger account is missing.", code="ledger_refused")
    for acct, _ in lines:   # keep locked accounts in step without reading them again
        if acct.id in rolled:
            continue
        _, bal, count = fresh[acct.id]
        set_committed_value(acct, "balance_cents", bal)
        set_committed_value(acct, "entry_count", count)
    return Posted(tx_id, key, memo, ref, now)


def move(key: str, *, memo: str, ref: str, source: LedgerAccount, target: LedgerAccount,
         amount_cents: int) -> Posted:
    """Take amount_cents from source and give it to target (source -x, target +x)."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise InvalidState("A move is of a positive whole number of cents.", code="ledger_refused")
    return post(key, memo=memo, ref=ref, lines=[(source, -amount_cents), (target, amount_cents)])


def _pending(account_id, what=None):
    """What the account's deltas not yet rolled up add (0 for an account kept under lock)."""
    what = (cast(func.coalesce(func.sum(LedgerDelta.amount_cents), 0), BigInteger)
            if what is None else what)
    return select(what).where(LedgerDelta.account_id == account_id).scalar_subquery()


def _balance():
    """The sum of the account's entries: its running balance plus its deltas, one snapshot."""
    return LedgerAccount.balance_cents + _pending(LedgerAccount.id)


def balance(acct: LedgerAccount) -> int:
    """The account's balance: the sum of its entries."""
    return db.session.scalar(select(_balance()).where(LedgerAccount.id == acct.id)) or 0


def balance_of(kind: Kind | str, owner_id: int | None, currency: str = "USD") -> int:
    """A balance without creating the account (0 when it has never moved)."""
    kind = Kind(kind)
    return db.session.scalar(select(_balance()).where(
        LedgerAccount.kind == kind, LedgerAccount.owner_id == _owner_key(kind, owner_id),
        LedgerAccount.currency == currency.upper())) or 0


def balances_of(owner_id: int, kinds: list[Kind], currency: str = "USD") -> dict[Kind, int]:
    """Several of one owner's balances in one statement (0 for an account never moved)."""
    found = dict(db.session.execute(select(LedgerAccount.kind, _balance()).where(
        LedgerAccount.owner_id == owner_id, LedgerAccount.currency == currency.upper(),
        LedgerAccount.kind.in_(kinds))).all())
    return {Kind(kind): found.get(kind, 0) for kind in kinds}


def entries_of(tx: Posted | LedgerTransaction) -> list[LedgerEntry]:
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
            select(A.id, A.kind, A.owner_id, A.currency, _balance(),
                   A.entry_count + _pending(A.id, func.count()),
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
    """Per currency, the sum of every account's balance: zero when the books are whole.
    One statement: the running balances and the deltas not yet rolled up, one snapshot."""
    A, D = LedgerAccount, LedgerDelta
    other = aliased(LedgerAccount)
    pending = (select(func.coalesce(func.sum(D.amount_cents), 0))
               .join(other, other.id == D.account_id).where(other.currency == A.currency)
               .scalar_subquery())
    return {cur: int(total) for cur, total in db.session.execute(
        select(A.currency, func.sum(A.balance_cents) + pending).group_by(A.currency))}


def roll_up() -> dict[int, int]:
    """Fold the rolled-up accounts' committed deltas into their running balances."""
    return ledger_sql.roll_up()


__all__ = ["PLATFORM", "Kind", "Posted", "LedgerAccount", "LedgerTransaction", "LedgerEntry", "LedgerDelta",
           "Difference", "account", "post", "move", "balance", "balance_of", "entries_of",
           "sum_by_ref", "verify", "trial_balance", "roll_up"]
