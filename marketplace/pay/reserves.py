"""Funds secured before routing: an assignment's budget moves from the firm's available
funds (then its net-terms credit) to its reserve when it is published; cancelling releases
it, less a late-cancellation fee owed to the technician.

Every reserve and release is a ledger transaction with ref ``assignment:<id>``, so what an
assignment holds is the sum of those entries on the firm's reserve account.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..core.money import format_money
from ..errors import FundsMissing
from ..extensions import db
from . import ledger
from .ledger import Kind, LedgerAccount


def ref_of(assignment_id: int) -> str:
    return f"assignment:{assignment_id}"


def credit_limit_cents(firm_id: int, currency: str = "USD") -> int:
    """The firm's net-terms credit line (0 without terms), as the admin granted it."""
    try:
        from .funding import terms_for
    except ImportError:       # funding not installed: no terms
        return 0
    terms = terms_for(firm_id)
    if terms is None or terms.currency.upper() != currency.upper():
        return 0
    return terms.credit_limit_cents


@dataclass(frozen=True)
class Funds:
    """What a firm has: free to reserve, secured for routed work, top-ups still processing,
    and its net-terms credit (limit and what is used)."""
    currency: str
    available_cents: int
    reserved_cents: int
    pending_cents: int
    credit_limit_cents: int
    credit_used_cents: int

    @property
    def credit_room_cents(self) -> int:
        return max(0, self.credit_limit_cents - self.credit_used_cents)

    @property
    def spendable_cents(self) -> int:
        return max(0, self.available_cents) + self.credit_room_cents


def funds_of(firm_id: int, currency: str = "USD") -> Funds:
    balances = ledger.balances_of(firm_id, [Kind.FIRM_AVAILABLE, Kind.FIRM_RESERVED,
                                            Kind.FIRM_PENDING, Kind.FIRM_CREDIT], currency)
    return Funds(currency.upper(), balances.get(Kind.FIRM_AVAILABLE, 0),
                 balances.get(Kind.FIRM_RESERVED, 0), balances.get(Kind.FIRM_PENDING, 0),
                 credit_limit_cents(firm_id, currency), max(0, -balances.get(Kind.FIRM_CREDIT, 0)))


def spendable_cents(firm_id: int, currency: str = "USD") -> int:
    """Available funds plus unused net-terms credit: the most the firm can still secure."""
    return funds_of(firm_id, currency).spendable_cents


def reserved_for(assignment) -> int:
    """What the assignment holds in its firm's reserve now."""
    return ledger.sum_by_ref(Kind.FIRM_RESERVED, assignment.firm_id, ref_of(assignment.id),
                             assignment.currency)


def lock_funds(firm_id: int, currency: str) -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    """The firm's available, credit and reserve accounts, locked (in id order) so that two
    reserves cannot both spend the same funds."""
    accounts = [ledger.account(kind, firm_id, currency)
                for kind in (Kind.FIRM_AVAILABLE, Kind.FIRM_CREDIT, Kind.FIRM_RESERVED)]
    db.session.execute(select(LedgerAccount.id).where(
        LedgerAccount.id.in_([a.id for a in accounts])).order_by(LedgerAccount.id)
        .with_for_update(key_share=True)).all()
    return accounts[0], accounts[1], accounts[2]


def missing_message(missing: int, currency: str) -> str:
    return (f"You need {format_money(missing, currency)} more to secure this work: "
            "top up your funds or ask Onsite for payment terms.")


def reserve(assignment, amount_cents: int, key: str, *, memo: str,
            required: bool | None = None, overdraw: bool = False) -> int:
    """Secure amount_cents for the assignment: from available funds first, then credit.

    Short of funds, FundsMissing says how much is missing when funds are required
    (PAY_FUNDS_REQUIRED); otherwise what there is gets reserved. With `overdraw` (work
    already done) the credit account covers the rest beyond its limit: the firm owes it.
    Returns what was reserved."""
    if amount_cents <= 0:
        return 0
    currency = assignment.currency
    if required is None:
        required = current_app.config.get("PAY_FUNDS_REQUIRED", True)
    available, credit, reserved = lock_funds(assignment.firm_id, currency)
    funds = funds_of(assignment.firm_id, currency)
    from_available = min(amount_cents, max(0, funds.available_cents))
    from_credit = min(amount_cents - from_available, funds.credit_room_cents)
    missing = amount_cents - from_available - from_credit
    if missing and overdraw:
        from_credit, missing = from_credit + missing, 0
    if missing and required:
        raise FundsMissing(missing_message(missing, currency), missing_cents=missing,
                           currency=currency)
    lines = [(available, -from_available), (credit, -from_credit),
             (reserved, from_available + from_credit)]
    lines = [(acct, amount) for acct, amount in lines if amount]
    if lines:
        ledger.post(key, memo=memo, ref=ref_of(assignment.id), lines=lines)
    return from_available + from_credit


def giving_back(firm_id: int, currency: str, amount_cents: int,
                available: LedgerAccount, credit: LedgerAccount) -> list[tuple[LedgerAccount, int]]:
    """Lines returning amount_cents to the firm: repay used credit first, the rest is available."""
    owed = max(0, -ledger.balance(credit))
    repay = min(owed, amount_cents)
    lines = [(credit, repay), (available, amount_cents - repay)]
    return [(acct, amount) for acct, amount in lines if amount]


def release(assignment, key: str, *, memo: str, fee_cents: int = 0,
            technician_id: int | None = None) -> tuple[ledger.Posted | None, int]:
    """Give the assignment's whole reserve back to its firm, less a late-cancellation fee
    that goes to the technician. Returns the ledger transaction and the fee it paid."""
    available, credit, reserved = lock_funds(assignment.firm_id, assignment.currency)
    held = reserved_for(assignment)
    if held <= 0:
        return None, 0
    fee = min(max(0, fee_cents), held) if technician_id else 0
    lines = [(reserved, -held)]
    if fee:
        lines.append((ledger.account(Kind.TECH_PAYABLE, technician_id, assignment.currency), fee))
    lines += giving_back(assignment.firm_id, assignment.currency, held - fee, available, credit)
    return ledger.post(key, memo=memo, ref=ref_of(assignment.id), lines=lines), fee
