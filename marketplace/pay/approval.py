"""Approval to payable: the final amount moves from the firm's reserve to the technician's
payable less the platform's fee, the rest of the reserve goes back to the firm, and a
Payable records when it is due. Work the firm leaves unanswered is approved on its own
after the firm's auto-approval days.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import format_money
from ..core.signals import assignment_approved
from ..errors import DomainError
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.lifecycle import transition
from ..find.models import Assignment
from ..manage.access import lock_assignment
from ..manage.models import WorkRecord
from ..manage.review import amounts as final_amounts
from ..manage.visits import record_for
from ..notifications.services import notify, notify_firm
from . import ledger, reserves, settings
from .ledger import Kind
from .payables import Payable, PayableKind
from .payout_dates import local_day


def platform_fee_cents(labour_cents: int, fee_bps: int) -> int:
    """The platform's fee on labour (expenses pass through), rounded half up to the cent."""
    return (labour_cents * fee_bps + 5000) // 10000


def due_on(assignment, approved_at: datetime, terms_days: int):
    """The payable's due day: the approval's day at the site plus the firm's payment terms."""
    return local_day(approved_at, assignment.timezone) + timedelta(days=terms_days)


def settle(assignment, total_cents: int, labour_cents: int, currency: str,
           fee_bps: int) -> tuple[ledger.Posted | None, int]:
    """One ledger transaction: the assignment's whole reserve out, the total less the fee to
    the technician, the fee to the platform, the rest back to the firm. Returns it and the fee."""
    held = reserves.reserved_for(assignment)
    if total_cents > held:   # the work is done: the firm owes it even beyond funds and credit
        reserves.reserve(assignment, total_cents - held, f"reserve:{assignment.id}:approval",
                         memo=f"More secured at approval: {assignment.title}", overdraw=True)
    available, credit, reserved = reserves.lock_funds(assignment.firm_id, currency)
    held = reserves.reserved_for(assignment)
    fee = min(platform_fee_cents(labour_cents, fee_bps), total_cents)
    lines = [(reserved, -held),
             (ledger.account(Kind.TECH_PAYABLE, assignment.assignee_id, currency),
              total_cents - fee),
             (ledger.account(Kind.PLATFORM_FEES, None, currency), fee)]
    lines += reserves.giving_back(assignment.firm_id, currency, held - total_cents,
                                  available, credit)
    lines = [(acct, amount) for acct, amount in lines if amount]
    if not lines:
        return None, 0
    return ledger.post(f"approve:{assignment.id}", memo=f"Approved: {assignment.title}",
                       ref=reserves.ref_of(assignment.id), lines=lines), fee


def record_approval(assignment: Assignment, amounts: dict, *, auto: bool = False) -> Payable | None:
    """Settle the assignment's reserve for the approved amounts (in the approval's transaction)
    and record what the technician is owed and when."""
    existing = db.session.scalar(select(Payable).where(Payable.assignment_id == assignment.id))
    if existing is not None:
        return existing
    total, labour = amounts["total_cents"], amounts["labour_cents"]
    currency = amounts.get("currency") or assignment.currency
    terms = settings.for_firm(assignment.firm_id)
    tx, fee = settle(assignment, total, labour, currency, terms.platform_fee_bps)
    if tx is None or total - fee <= 0:
        return None
    now = clock.now()
    payable = Payable(assignment_id=assignment.id, technician_id=assignment.assignee_id,
                      firm_id=assignment.firm_id, kind=PayableKind.WORK, labour_cents=labour,
                      expenses_cents=amounts["expenses_cents"], fee_cents=fee,
                      amount_cents=total - fee, currency=currency, approved_at=now,
                      auto_approved=auto, payment_terms_days=terms.payment_terms_days,
                      due_on=due_on(assignment, now, terms.payment_terms_days),
                      transaction_id=tx.id)
    db.session.add(payable)
    db.session.flush()
    audit.record(Action.PAYABLE_RECORDED, payable, firm_id=assignment.firm_id,
                 after={"amount_cents": payable.amount_cents, "fee_cents": fee,
                        "currency": currency, "due_on": payable.due_on.isoformat()})
    return payable


def record_cancellation_fee(assignment: Assignment, fee_cents: int, technician_id: int,
                            tx_id: int) -> Payable:
    """The late-cancellation fee the technician is owed, due like approved work."""
    now = clock.now()
    terms = settings.for_firm(assignment.firm_id)
    payable = Payable(assignment_id=assignment.id, technician_id=technician_id,
                      firm_id=assignment.firm_id, kind=PayableKind.CANCELLATION,
                      labour_cents=fee_cents, expenses_cents=0, fee_cents=0,
                      amount_cents=fee_cents, currency=assignment.currency, approved_at=now,
                      payment_terms_days=terms.payment_terms_days,
                      due_on=due_on(assignment, now, terms.payment_terms_days),
                      transaction_id=tx_id)
    db.session.add(payable)
    db.session.flush()
    return payable


def auto_approval_at(assignment: Assignment, record: WorkRecord | None = None) -> datetime | None:
    """When submitted work the firm leaves unanswered is approved on its own (None otherwise)."""
    if assignment.status != S.SUBMITTED:
        return None
    record = record or db.session.get(WorkRecord, assignment.id)
    if record is None or record.submitted_at is None:
        return None
    return record.submitted_at + timedelta(days=settings.for_firm(assignment.firm_id)
                                           .auto_approve_days)


def due_for_auto_approval(now: datetime | None = None) -> list[int]:
    """Submitted assignments whose auto-approval moment has come, oldest first."""
    now = now or clock.now()
    rows = db.session.execute(
        select(Assignment.id, Assignment.firm_id, WorkRecord.submitted_at)
        .join(WorkRecord, WorkRecord.assignment_id == Assignment.id)
        .where(Assignment.status == S.SUBMITTED, WorkRecord.submitted_at.is_not(None),
               WorkRecord.submitted_at <= now - timedelta(days=min(settings.AUTO_APPROVE_DAYS)))
        .order_by(WorkRecord.submitted_at)).all()
    days: dict[int, int] = {}
    due = []
    for assignment_id, firm_id, submitted_at in rows:
        if firm_id not in days:
            days[firm_id] = settings.for_firm(firm_id).auto_approve_days
        if submitted_at + timedelta(days=days[firm_id]) <= now:
            due.append(assignment_id)
    return due


def auto_approve(assignment_id: int, now: datetime | None = None) -> dict | None:
    """Approve silent work on the firm's behalf; None if it was answered meanwhile."""
    now = now or clock.now()
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        return None
    lock_assignment(assignment)
    when = auto_approval_at(assignment)
    if when is None or when > now:
        return None
    owed = final_amounts(assignment)
    transition(assignment, S.APPROVED, actor=None, action=Action.WORK_AUTO_APPROVED,
               expect_version=assignment.version)
    record = record_for(assignment)
    record.approved_at, record.approved_by_id = now, None
    db.session.flush()
    audit.record(Action.WORK_AUTO_APPROVED, assignment, firm_id=assignment.firm_id,
                 after=owed.as_dict())
    assignment_approved.send(assignment, actor=None, amounts=owed.as_dict())
    money = format_money(owed.total_cents, owed.currency)
    link = path_for("manage.work", work_id=assignment.id)
    notify(assignment.assignee.user, "work.approved", f"Approved: {assignment.title}",
           f"Approved automatically after the firm's review time: {money}.", link=link)
    notify_firm(assignment.firm_id, "work.auto_approved", f"Approved automatically: "
                f"{assignment.title}", f"No answer within the review time; {money} is owed.",
                link=link)
    return owed.as_dict()


def auto_approve_due(now: datetime | None = None) -> int:
    """Approve every silent submission whose time has come; each in its own savepoint."""
    count = 0
    for assignment_id in due_for_auto_approval(now):
        try:
            with db.session.begin_nested():
                if auto_approve(assignment_id, now) is not None:
                    count += 1
        except DomainError as exc:   # e.g. answered meanwhile: the others still go through
            current_app.logger.warning("auto-approval of %s skipped: %s", assignment_id, exc)
    return count
