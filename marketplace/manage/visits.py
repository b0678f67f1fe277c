"""Check-in and check-out: visits, judged by the geofence and the recorded time."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, event, func, select, update
from sqlalchemy.orm import Session, aliased

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..core.transactions import per_transaction
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
        memo[key] = db.session.scalar(accepted_query(assignment.id, assignment.assignee_id))
    return memo[key]


def accepted_query(assignment_id, assignee_id):
    """The accepted offer's time (columns or values: a caller reading many jobs at once
    passes their columns and gets a correlated subquery)."""
    return select(Offer.responded_at).where(
        Offer.assignment_id == assignment_id, Offer.technician_id == assignee_id,
        Offer.status == OfferStatus.ACCEPTED).limit(1)


def note_accepted(assignment: Assignment, at: datetime | None) -> None:
    """What a caller read with the assignment itself (`accepted_query`), for this transaction."""
    db.session.info.setdefault(_ACCEPTED, {})[
        (assignment.id, assignment.assignee_id, assignment.version)] = at


_ACCEPTED = "manage_accepted_at"
_RECORDS = "manage_work_records"
_VISITS = "manage_visits_known"


per_transaction(_ACCEPTED, _RECORDS, _VISITS)   # the next transaction reads afresh


@event.listens_for(Session, "after_soft_rollback")
def _forget_writes(session: Session, previous_transaction) -> None:
    """A savepoint rolled back may have taken a record or a visit with it."""
    session.info.pop(_RECORDS, None)
    session.info.pop(_VISITS, None)


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
    return _visits_known(assignment)[0]


def _visits_known(assignment: Assignment) -> tuple[Visit | None, int]:
    """The open visit (if any) and the highest visit number: one read per transaction
    (or none, when the caller read them with the work: `note_visits`); only this module
    writes visits, and it keeps them up to date."""
    known = db.session.info.get(_VISITS, {})
    if assignment.id not in known:
        open_, highest = None, 0
        for visit in db.session.scalars(select(Visit).where(
                Visit.assignment_id == assignment.id)):
            highest = max(highest, visit.number)
            if visit.checkout_at is None:
                open_ = visit
        note_visits(assignment, open_, highest)
    return db.session.info[_VISITS][assignment.id]


def note_visits(assignment: Assignment, open_: Visit | None, highest: int | None) -> None:
    db.session.info.setdefault(_VISITS, {})[assignment.id] = (open_, highest or 0)


def visits_read_with_work(work):
    """What `note_visits` wants, read with the work (`work` the assignments' table in a
    SELECT): the open visit's table joined, and the highest number as a column."""
    numbers = aliased(Visit)
    highest = select(func.max(numbers.number)).where(
        numbers.assignment_id == work.id).scalar_subquery()
    return and_(Visit.assignment_id == work.id, Visit.checkout_at.is_(None)), highest


def record_for(assignment: Assignment) -> WorkRecord:
    return _get_record(assignment) or _new_record(assignment)


def _get_record(assignment: Assignment) -> WorkRecord | None:
    """The work record, kept for the transaction (the session forgets objects nothing
    refers to): a queue's actions on one job read it once."""
    known = db.session.info.get(_RECORDS, {})
    if assignment.id in known:
        return known[assignment.id]
    record = db.session.get(WorkRecord, assignment.id)
    if record is not None:
        note_record(assignment, record)
    return record


def note_record(assignment: Assignment, record: WorkRecord | None) -> None:
    """The work record (or that there is none) as read with the work, locked: only this
    transaction can write it before it ends, and it does so through `record_for`."""
    db.session.info.setdefault(_RECORDS, {})[assignment.id] = record


def _new_record(assignment: Assignment) -> WorkRecord:
    record = WorkRecord(assignment_id=assignment.id, technician_id=assignment.assignee_id,
                        revisits=0)
    db.session.add(record)
    note_record(assignment, record)
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
    opened, highest = _visits_known(assignment)
    if opened is not None:
        raise InvalidState("You are already checked in here.", code="already_checked_in")
    judgement = judge(assignment, fix, at)
    record = _get_record(assignment)
    first = record is None or record.first_checkin_at is None or at < record.first_checkin_at
    # Before any write: whatever refuses the check-in has refused it by now.
    arrived = arrival.classify(assignment, at) if first else record.arrival
    if assignment.status == S.ASSIGNED:
        version = assignment.version
        transition(assignment, S.IN_PROGRESS, actor=user, action=Action.WORK_STARTED,
                   expect_assignee=tech.id)
        _carry_acceptance(assignment, version)
    number = highest + 1
    visit = Visit(assignment_id=assignment.id, technician_id=tech.id, number=number,
                  checkin_at=at, checkin_received_at=clock.now(),
                  checkin_lat=fix.lat if fix else None, checkin_lon=fix.lon if fix else None,
                  checkin_accuracy_m=fix.accuracy_m if fix else None,
                  checkin_distance_m=judgement.distance_m, checkin_geofence=judgement.geofence,
                  checkin_reason=(reason or "").strip()[:300] or None)
    db.session.add(visit)
    note_visits(assignment, visit, number)
    if record is None:      # written with the visit, in one flush
        record = _new_record(assignment)
    if first:
        record.first_checkin_at = at
        record.arrival = arrived
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


def _carry_acceptance(assignment: Assignment, version: int) -> None:
    """A lifecycle move bumps the version, not the accepted offer: keep what was read."""
    memo = db.session.info.get(_ACCEPTED, {})
    key = (assignment.id, assignment.assignee_id, version)
    if key in memo:
        note_accepted(assignment, memo[key])


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
    note_visits(assignment, None, _visits_known(assignment)[1])
    audit.record(Action.VISIT_CHECKED_OUT, visit, actor=user, firm_id=assignment.firm_id,
                 after={"assignment_id": assignment.id, "at": at,
                        "geofence": judgement.geofence.value,
                        "seconds_on_site": visit.seconds_on_site})
    return visit


def visits_of(assignment: Assignment) -> list[Visit]:
    return list(db.session.scalars(select(Visit).where(Visit.assignment_id == assignment.id)
                                   .order_by(Visit.number)))


def seconds_on_site(assignment_id: int) -> int:
    """Derived from closed visits, never typed (what hourly pay counts)."""
    rows = db.session.execute(select(Visit.checkin_at, Visit.checkout_at).where(
        Visit.assignment_id == assignment_id, Visit.checkout_at.is_not(None))).all()
    return sum(int((out - start).total_seconds()) for start, out in rows)


def seconds_on_site_so_far(visits: list[Visit], now: datetime) -> int:
    """What the work pages show while someone is on site: the closed visits and the open
    one up to now."""
    return sum(max(0, int(((v.checkout_at or now) - v.checkin_at).total_seconds()))
               for v in visits)
