"""What a technician's earnings page and a firm's spend page show: balances from the
ledger, payables still to come, payouts made. Each reads only its owner's rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..accounts.policy import firm_id_of
from ..core.money import DEFAULT_CURRENCY
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from . import ledger
from .payables import Payable, PayableStatus
from .payout_models import TRANSFERRED, DocumentKind, PayDocument, PayoutIntent

K = ledger.Kind


@dataclass(frozen=True)
class TechnicianBalances:
    currency: str
    payable_cents: int       # earned, not yet transferred
    in_account_cents: int    # transferred to the Stripe account, not yet at the bank
    paid_out_cents: int      # reached the bank

    def as_dict(self) -> dict:
        return {"currency": self.currency, "payable_cents": self.payable_cents,
                "in_transit_cents": self.in_account_cents, "paid_out_cents": self.paid_out_cents}


@dataclass(frozen=True)
class FirmBalances:
    currency: str
    available_cents: int
    pending_cents: int
    reserved_cents: int
    credit_cents: int        # negative: what the firm owes on net terms
    spent_cents: int         # invoiced, all time

    def as_dict(self) -> dict:
        return {"currency": self.currency, "available_cents": self.available_cents,
                "pending_cents": self.pending_cents, "reserved_cents": self.reserved_cents,
                "credit_cents": self.credit_cents, "spent_cents": self.spent_cents}


def technician_of(user: User):
    if not user.is_technician or user.technician is None:
        raise PermissionDenied("This is for technicians.")
    return user.technician


def technician_balances(tech_id: int, currency: str = DEFAULT_CURRENCY) -> TechnicianBalances:
    b = ledger.balances_of(tech_id, [K.TECH_PAYABLE, K.TECH_IN_TRANSIT, K.TECH_PAID_OUT],
                           currency)
    return TechnicianBalances(currency, b[K.TECH_PAYABLE], b[K.TECH_IN_TRANSIT],
                              b[K.TECH_PAID_OUT])


def firm_balances(firm_id: int, currency: str = DEFAULT_CURRENCY) -> FirmBalances:
    spent = db.session.scalar(select(func.coalesce(func.sum(PayDocument.total_cents), 0)).where(
        PayDocument.kind == DocumentKind.INVOICE, PayDocument.firm_id == firm_id,
        PayDocument.currency == currency)) or 0
    b = ledger.balances_of(firm_id, [K.FIRM_AVAILABLE, K.FIRM_PENDING, K.FIRM_RESERVED,
                                     K.FIRM_CREDIT], currency)
    return FirmBalances(currency, b[K.FIRM_AVAILABLE], b[K.FIRM_PENDING], b[K.FIRM_RESERVED],
                        b[K.FIRM_CREDIT], int(spent))


def balances_for(user: User) -> TechnicianBalances | FirmBalances:
    firm_id = firm_id_of(user)
    if firm_id is not None:
        return firm_balances(firm_id)
    return technician_balances(technician_of(user).id)


def upcoming(tech_id: int) -> list[Payable]:
    """Payables not yet transferred, soonest first."""
    return list(db.session.scalars(select(Payable).where(
        Payable.technician_id == tech_id, Payable.status == PayableStatus.PENDING)
        .options(joinedload(Payable.assignment)).order_by(Payable.due_on, Payable.id)))


@dataclass(frozen=True)
class Upcoming:
    """A payable not yet transferred, and what its technician is told about it: paid on its
    date; due and being sent; or due and waiting for the technician's payout setup."""
    payable: Payable
    due: bool
    waiting_for_setup: bool


def upcoming_for(tech_id: int, payouts_enabled: bool) -> list[Upcoming]:
    from .payout_dates import is_due
    return [Upcoming(p, due, due and not payouts_enabled)
            for p in upcoming(tech_id)
            for due in (is_due(p.due_on, p.assignment.timezone),)]


def payouts_stmt(user: User):
    """The user's payouts (transfers), newest first: a technician's own, a firm's for its work."""
    stmt = select(PayoutIntent).order_by(PayoutIntent.id.desc())
    firm_id = firm_id_of(user)
    if firm_id is not None:
        return stmt.where(PayoutIntent.firm_id == firm_id)
    return stmt.where(PayoutIntent.technician_id == technician_of(user).id)


def access_payout(user: User, payout_id: int) -> PayoutIntent:
    intent = db.session.get(PayoutIntent, payout_id)
    if intent is None:
        raise NotFound()
    if user.is_admin:
        return intent
    firm_id = firm_id_of(user)
    mine = (intent.firm_id == firm_id if firm_id is not None else
            user.is_technician and user.technician is not None
            and intent.technician_id == user.technician.id)
    if not mine:
        raise NotFound()
    return intent


def paid_on(intent: PayoutIntent) -> date | None:
    return intent.sent_at.date() if intent.sent_at and intent.status in TRANSFERRED else None
