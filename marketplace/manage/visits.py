"""Check-in and check-out: visits, judged by the geofence and the recorded time."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..engage.models import Offer, OfferStatus
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.lifecycle import transition
from ..find.models import Assignment
from ..notifications import webhooks
from . import arrival
from .access import assignee_of, lock_assignment
from .geofence import Fix, judge
from .models import Arrival, Visit, WorkRecord

WORKING_STATES = (S.ASSIGNED, S.IN_PROGRESS)


def clock_skew() -> timedelta:
    return timedelta(seconds=current_app.config.get("MANAGE_CLOCK_SKEW_SECONDS", 120))


def accepted_at(assignment: Assignment) -> datetime | None:
    """When the assignee accepted the work. Read once per transaction for each state
    of the assignment (only a lifecycle move, which bumps its version, changes it): a
    queue of actions on one job asks it for each action."""
    memo = db.session.info.setdefault(_ACCEPTED, {})
    key = (assignment.id, assignment.assignee_id, assignment.version)
    if key not in memo:
        memo[key] = db.session.scalar(select(Offer.responded_at).where(
            Offer.assignment_id == assignment.id,
            Offer.technician_id == assignment.assignee_id,
            Offer.status == OfferStatus.ACCEPTED))
    return memo[key]


_ACCEPTED = "manage_accepted_at"


@event.listens_for(Session, "after_transaction_end")
def _forget_acceptances(session: Session, transaction) -> None:
    if transaction.parent is None:  # the transaction is over: read afresh in the next
        session.info.pop(_ACCEPTED, None)


def check_recorded_time(assignment: Assignment, at: datetime, field: str = "recorded_at") -> None:
    """A phone's time is believed within the skew bound: not in the future, and not
    before the work was accepted."""
    now, skew = clock.now(), clock_skew()
    if at > now + skew:
        raise ValidationFailed.field(field, "That time is in the future; check the phone's clock.")
    taken = accepted_at(assignment)
    if taken is not None and at < taken - skew:
        raise ValidationFailed.field(field, "That time is before you accepted this work.")


def open_visit(assignment: Assignment) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.assignment_id == assignment.id,
                                                 Visit.checkout_at.is_(None)))


def record_for(assignment: Assignment) -> WorkRecord:
    record = db.session.get(WorkRecord, assignment.id)
    if record is None:
        record = WorkRecord(assignment_id=assignment.id, technician_id=assignment.assignee_id,
                            revisits=0)
        db.session.add(record)
    return record


def check_in(user: User, assignment: Assignment, *, at: datetime, fix: Fix | None,
             reason: str = "") -> Visit:
    """Start a visit. Outside the fence or unverified is flagged, never blocked."""
    tech = assignee_of(user, assignment)
    lock_assignment(assignment)
    assignee_of(user, assignment)
    if assignment.status not in WORKING_STATES:
        raise InvalidState(f"This assignment is {assignment.status.label.lower()}; "
                           "there is nothing to check in to.")
    check_recorded_time(assignment, at)
    if open_visit(assignment) is not None:
        raise InvalidState("You are already checked in here.", code="already_checked_in")
    judgement = judge(assignment, fix, at)
    if assignment.status == S.ASSIGNED:
        transition(assignment, S.IN_PROGRESS, actor=user, action=Action.WORK_STARTED,
                   expect_assignee=tech.id)
    number = (db.session.scalar(select(func.max(Visit.number)).where(
        Visit.assignment_id == assignment.id)) or 0) + 1
    visit = Visit(assignment_id=assignment.id, technician_id=tech.id, number=number,
                  checkin_at=at, checkin_received_at=clock.now(),
                  checkin_lat=fix.lat if fix else None, checkin_lon=fix.lon if fix else None,
                  checkin_accuracy_m=fix.accuracy_m if fix else None,
                  checkin_distance_m=judgement.distance_m, checkin_geofence=judgement.geofence,
                  checkin_reason=(reason or "").strip()[:300] or None)
    db.session.add(visit)
    record = record_for(assignment)
    if record.first_checkin_at is None or at < record.first_checkin_at:
        record.first_checkin_at = at
        record.arrival = arrival.classify(assignment, at)
        if record.arrival == Arrival.LATE:
            webhooks.emit(assignment.firm_id, "assignment.late", {
                "assignment_id": assignment.id, "title": assignment.title,
                "technician_id": tech.id, "checked_in_at": at.isoformat(),
                "window_starts_at": assignment.starts_at.isoformat()})
    db.session.flush()
    audit.record(Action.VISIT_CHECKED_IN, visit, actor=user, firm_id=assignment.firm_id,
                 after={"assignment_id": assignment.id, "at": at, "number": number,
                        "geofence": judgement.geofence.value,
                        "distance_m": judgement.distance_m, "arrival": record.arrival})
    return visit


def check_out(user: User, assignment: Assignment, *, at: datetime, fix: Fix | None,
              reason: str = "") -> Visit:
    assignee_of(user, assignment)
    lock_assignment(assignment)
    assignee_of(user, assignment)
    check_recorded_time(assignment, at)
    visit = open_visit(assignment)
    if visit is None:
        raise InvalidState("You are not checked in here.", code="not_checked_in")
    if at < visit.checkin_at:
        raise ValidationFailed.field("recorded_at", "Check-out cannot be before check-in.")
    judgement = judge(assignment, fix, at)
    closed = db.session.execute(
        update(Visit).where(Visit.id == visit.id, Visit.checkout_at.is_(None)).values(
            checkout_at=at, checkout_received_at=clock.now(),
            checkout_lat=fix.lat if fix else None, checkout_lon=fix.lon if fix else None,
            checkout_accuracy_m=fix.accuracy_m if fix else None,
            checkout_distance_m=judgement.distance_m, checkout_geofence=judgement.geofence,
            checkout_reason=(reason or "").strip()[:300] or None)
        .returning(Visit).execution_options(synchronize_session=False,
                                            populate_existing=True)).scalar_one_or_none()
    if closed is None:
        raise InvalidState("You are not checked in here.", code="not_checked_in")
    audit.record(Action.VISIT_CHECKED_OUT, visit, actor=user, firm_id=assignment.firm_id,
                 after={"assignment_id": assignment.id, "at": at,
                        "geofence": judgement.geofence.value,
                        "seconds_on_site": visit.seconds_on_site})
    return visit


def visits_of(assignment: Assignment) -> list[Visit]:
    return list(db.session.scalars(select(Visit).where(Visit.assignment_id == assignment.id)
                                   .order_by(Visit.number)))


def seconds_on_site(assignment_id: int) -> int:
    """Derived from closed visits, never typed."""
    rows = db.session.execute(select(Visit.checkin_at, Visit.checkout_at).where(
        Visit.assignment_id == assignment_id, Visit.checkout_at.is_not(None))).all()
    return sum(int((out - start).total_seconds()) for start, out in rows)
