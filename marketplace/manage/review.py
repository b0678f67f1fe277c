"""Submit, review, approve or send back; the final amounts the approval announces."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select, update

from ..accounts.models import User
from ..accounts.policy import check_budget_limit, require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import format_money
from ..core.signals import assignment_approved
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.lifecycle import transition
from ..find.models import Assignment, Pricing
from ..notifications.services import notify, notify_firm
from . import proof
from .access import assignee_of, lock_assignment
from .models import ChangeKind, ChangeRequest, ChangeStatus, WorkRecord
from .visits import open_visit, record_for, seconds_on_site

MAX_NOTE = 2000


@dataclass(frozen=True)
class Amounts:
    """What the firm owes for approved work, in integer cents of one currency."""
    labour_cents: int
    expenses_cents: int
    currency: str
    seconds_on_site: int

    @property
    def total_cents(self) -> int:
        return self.labour_cents + self.expenses_cents

    def as_dict(self) -> dict:
        return {**asdict(self), "total_cents": self.total_cents}


def _hours_cents(rate_cents: int, seconds: int) -> int:
    """Rate per hour times a duration, rounded half up to the cent, in integers."""
    return (rate_cents * seconds + 1800) // 3600


def _approved(assignment_id: int, kind: ChangeKind) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(ChangeRequest.amount_cents), 0)).where(
        ChangeRequest.assignment_id == assignment_id, ChangeRequest.kind == kind,
        ChangeRequest.status == ChangeStatus.APPROVED)) or 0


def amounts(assignment: Assignment) -> Amounts:
    """Fixed: the agreed price. Hourly: the rate times the time on site. Blended: the
    fixed part plus the rate for the hours beyond it. Time-based labour is capped at
    the agreed price plus approved budget increases; approved expenses come on top."""
    agreed = assignment.agreed_price_cents
    if agreed is None:
        agreed = assignment.budget_cents
    agreed_expenses = assignment.agreed_expenses_cents or 0
    increases = _approved(assignment.id, ChangeKind.BUDGET_INCREASE)
    seconds = seconds_on_site(assignment.id)
    if assignment.pricing == Pricing.FIXED:
        labour = agreed + increases
    else:
        hourly = assignment.hourly_rate_cents or 0
        if assignment.pricing == Pricing.HOURLY:
            labour = _hours_cents(hourly, seconds)
        else:
            covered = round((assignment.fixed_hours or 0) * 3600)
            labour = assignment.rate_cents + _hours_cents(hourly, max(0, seconds - covered))
        labour = min(labour, agreed + increases)
    expenses = agreed_expenses + _approved(assignment.id, ChangeKind.EXPENSE)
    return Amounts(labour, expenses, assignment.currency, seconds)


def submit(user: User, assignment: Assignment, note: str = "") -> WorkRecord:
    """The technician hands the work in: checked out, every required task complete."""
    assignee_of(user, assignment)
    lock_assignment(assignment)
    db.session.refresh(assignment)
    if assignment.status != S.IN_PROGRESS:
        raise InvalidState(f"This assignment is {assignment.status.label.lower()}; "
                           "only work in progress can be submitted.")
    if open_visit(assignment) is not None:
        raise InvalidState("Check out before you submit.", code="still_checked_in")
    todo = proof.missing(assignment)
    if todo:
        raise ValidationFailed("Finish the required tasks first: " + "; ".join(todo) + ".",
                               fields={"tasks": "Still to do: " + "; ".join(todo)})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed.field("note", f"At most {MAX_NOTE} characters.")
    transition(assignment, S.SUBMITTED, actor=user, action=Action.WORK_SUBMITTED,
               expect_assignee=assignment.assignee_id)
    record = record_for(assignment)
    record.submitted_at, record.submit_note = clock.now(), note or None
    db.session.flush()
    notify_firm(assignment.firm_id, "work.submitted", f"Ready for review: {assignment.title}",
                note or "The technician submitted the work for approval.",
                link=path_for("manage.work", work_id=assignment.id))
    return record


def approve(user: User, assignment: Assignment) -> Amounts:
    """The firm accepts the work: announces the final amounts to whoever pays."""
    require_member(user, assignment.firm_id, message="Only the firm's members approve work.")
    lock_assignment(assignment)
    db.session.refresh(assignment)
    if assignment.status != S.SUBMITTED:
        raise InvalidState(f"This assignment is {assignment.status.label.lower()}; "
                           "only submitted work can be approved.")
    owed = amounts(assignment)
    check_budget_limit(user, assignment.firm_id, owed.total_cents,
                       message=f"Approving {format_money(owed.total_cents, owed.currency)} "
                               "is above your budget limit; ask a manager.")
    transition(assignment, S.APPROVED, actor=user, action=Action.WORK_APPROVED,
               expect_version=assignment.version)
    record = record_for(assignment)
    record.approved_at, record.approved_by_id = clock.now(), user.id
    db.session.flush()
    audit.record(Action.WORK_APPROVED, assignment, actor=user, firm_id=assignment.firm_id,
                 after=owed.as_dict())
    assignment_approved.send(assignment, actor=user, amounts=owed.as_dict())
    notify(assignment.assignee.user, "work.approved", f"Approved: {assignment.title}",
           f"{assignment.firm.name} approved your work: "
           f"{format_money(owed.total_cents, owed.currency)}.",
           link=path_for("manage.work", work_id=assignment.id))
    return owed


def send_back(user: User, assignment: Assignment, reason: str) -> WorkRecord:
    """The firm asks for more: the work is in progress again and counts as a revisit."""
    require_member(user, assignment.firm_id, message="Only the firm's members review work.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Say what needs to be redone.")
    lock_assignment(assignment)
    db.session.refresh(assignment)
    transition(assignment, S.IN_PROGRESS, actor=user, action=Action.WORK_REVISIT_REQUESTED,
               expect_version=assignment.version,
               message="Only submitted work can be sent back.")
    record = record_for(assignment)
    db.session.flush()
    db.session.execute(update(WorkRecord).where(WorkRecord.assignment_id == assignment.id)
                       .values(revisits=WorkRecord.revisits + 1, revisit_reason=reason[:2000],
                               submitted_at=None)
                       .execution_options(synchronize_session=False))
    db.session.refresh(record)
    notify(assignment.assignee.user, "work.revisit", f"Revisit needed: {assignment.title}",
           reason, link=path_for("manage.work", work_id=assignment.id))
    return record
