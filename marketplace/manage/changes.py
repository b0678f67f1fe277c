"""Expenses and budget increases: the technician asks, the firm answers."""
from __future__ import annotations

from sqlalchemy import select, update

from ..accounts.models import User
from ..accounts.policy import check_budget_limit, require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import format_money, parse_amount
from ..core.signals import change_approved
from ..core.uploads import Upload, check_upload, store
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from ..notifications.services import notify, notify_firm
from .access import assignee_of, lock_assignment
from .models import EXPENSE_CATEGORIES, ChangeKind, ChangeRequest, ChangeStatus

OPEN_FOR_CHANGES = (S.ASSIGNED, S.IN_PROGRESS)
MAX_AMOUNT_CENTS = 10_000_000


def request_change(user: User, assignment: Assignment, *, kind: str, amount, category: str,
                   reason: str, receipt: Upload | None = None) -> ChangeRequest:
    tech = assignee_of(user, assignment)
    if assignment.status not in OPEN_FOR_CHANGES:
        raise InvalidState("Expenses and budget changes are asked for before submitting.")
    try:
        kind_value = ChangeKind(kind)
    except ValueError:
        raise ValidationFailed.field("kind", "Choose an expense or a budget increase.") from None
    cents = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
    if cents is None:
        cents = parse_amount(amount, "amount", allow_zero=False, maximum_cents=MAX_AMOUNT_CENTS)
    if not 0 < cents <= MAX_AMOUNT_CENTS:
        raise ValidationFailed.field("amount", "Enter an amount above zero, at most $100,000.")
    if category not in EXPENSE_CATEGORIES:
        raise ValidationFailed.field("category", "Choose a category.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Say what it is for.")
    receipt_key = receipt_mime = None
    if receipt is not None and receipt.data:
        checked = check_upload(receipt, field="receipt")
        receipt_mime, receipt_key = checked.mime, store(checked.data)
    change = ChangeRequest(assignment_id=assignment.id, technician_id=tech.id, kind=kind_value,
                           category=category, amount_cents=cents, currency=assignment.currency,
                           reason=reason[:500], receipt_key=receipt_key,
                           receipt_mime=receipt_mime)
    db.session.add(change)
    db.session.flush()
    audit.record(Action.CHANGE_REQUESTED, change, actor=user, firm_id=assignment.firm_id,
                 after={"kind": kind_value.value, "amount_cents": cents, "category": category})
    notify_firm(assignment.firm_id, "work.change_requested",
                f"{kind_value.label} asked on {assignment.title}",
                f"{tech.name}: {format_money(cents, assignment.currency)} ({category}). {reason}",
                link=path_for("manage.work", work_id=assignment.id))
    return change


def decide_change(user: User, change: ChangeRequest, approve: bool, reason: str = "") -> None:
    assignment = db.session.get(Assignment, change.assignment_id)
    require_member(user, assignment.firm_id, message="Only the firm's members answer requests.")
    lock_assignment(assignment)
    if approve:
        from .review import amounts
        owed = amounts(assignment)
        check_budget_limit(user, assignment.firm_id, owed.total_cents + change.amount_cents,
                           message="Approving this would take the work above your budget "
                                   "limit; ask a manager.")
    elif not (reason or "").strip():
        raise ValidationFailed.field("reason", "Say why you decline it.")
    status = ChangeStatus.APPROVED if approve else ChangeStatus.DECLINED
    changed = db.session.execute(
        update(ChangeRequest).where(ChangeRequest.id == change.id,
                                    ChangeRequest.status == ChangeStatus.PENDING)
        .values(status=status, decided_by_id=user.id, decided_at=clock.now(),
                decision_reason=(reason or "").strip()[:500] or None)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise InvalidState("This request has already been answered.")
    db.session.refresh(change)
    if approve:
        change_approved.send(change, assignment=assignment, actor=user)
    audit.record(Action.CHANGE_APPROVED if approve else Action.CHANGE_DECLINED, change,
                 actor=user, firm_id=assignment.firm_id,
                 after={"amount_cents": change.amount_cents, "reason": reason or None})
    word = "approved" if approve else "declined"
    notify(change.technician.user, f"work.change_{word}",
           f"{change.kind.label} {word}: {assignment.title}",
           f"{format_money(change.amount_cents, change.currency)}"
           + (f" — {reason}" if reason else ""),
           link=path_for("manage.work", work_id=assignment.id))


def changes_of(assignment: Assignment) -> list[ChangeRequest]:
    return list(db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.assignment_id == assignment.id).order_by(ChangeRequest.id)))


def access_change(user: User, change_id: int) -> ChangeRequest:
    from ..errors import NotFound
    from .access import access_work
    change = db.session.get(ChangeRequest, change_id)
    if change is None:
        raise NotFound()
    access_work(user, change.assignment_id)
    return change
