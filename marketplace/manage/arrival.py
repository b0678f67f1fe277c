"""Arrival: on time, late, or no-show; and the scheduled sweep that marks no-shows.

A window job is **on time** from `early_minutes` before the window's start to
`late_minutes` after it (the firm's settings, 30 and 15 by default) and late
after that. A flexible job (any time within a range of days) is on time
whenever the first check-in falls before the range ends. Either is a
**no-show** when its window or range has ended with no check-in. Times are
instants, so the site's timezone and its DST changes are already in the
window's UTC start and end.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import TechnicianProfile, User
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment, ScheduleKind
from ..notifications import webhooks
from ..notifications.services import notify, notify_firm
from . import rollups
from .geofence import settings_for
from .models import Arrival, ManageSettings, Visit, WorkRecord

# How far back the sweep looks: older unfilled windows are history, not alerts.
LOOKBACK = timedelta(days=7)


def classify(assignment: Assignment, first_checkin_at: datetime) -> Arrival:
    settings = settings_for(assignment.firm_id)
    if assignment.schedule_kind == ScheduleKind.FLEXIBLE:
        return Arrival.ON_TIME if first_checkin_at <= assignment.ends_at else Arrival.LATE
    deadline = assignment.starts_at + timedelta(minutes=settings.late_minutes)
    return Arrival.ON_TIME if first_checkin_at <= deadline else Arrival.LATE


def state_of(assignment: Assignment, record: WorkRecord | None, now: datetime,
             settings: ManageSettings | None = None) -> str | None:
    """What the technician's and the dispatcher's screens flag: 'late', 'no_show', or None.
    A caller judging many of one firm's jobs passes the firm's `settings` once."""
    if record is not None and record.no_show_at is not None and record.first_checkin_at is None:
        return "no_show"
    if assignment.status == S.ASSIGNED and (record is None or record.first_checkin_at is None):
        settings = settings or settings_for(assignment.firm_id)
        if assignment.schedule_kind == ScheduleKind.WINDOW and \
                now > assignment.starts_at + timedelta(minutes=settings.late_minutes):
            return "late"
    if record is not None and record.arrival == Arrival.LATE:
        return "late"
    return None


@dataclass
class SweepResult:
    no_shows: list[int] = field(default_factory=list)


def sweep(now: datetime | None = None) -> SweepResult:
    """Mark every assigned job whose window ended with no check-in as a no-show.

    One INSERT ... SELECT that skips assignments already recorded (a conflict
    on the work record's key does nothing), so a second or concurrent run
    changes nothing; only the rows it inserted are announced."""
    now = now or clock.now()
    visited = exists().where(Visit.assignment_id == Assignment.id)
    recorded = exists().where(WorkRecord.assignment_id == Assignment.id)
    source = select(Assignment.id, Assignment.assignee_id, literal(Arrival.NO_SHOW.value),
                    literal(now, WorkRecord.no_show_at.type), literal(0),
                    literal(now, WorkRecord.created_at.type)).where(
        Assignment.status == S.ASSIGNED, Assignment.ends_at < now,
        Assignment.ends_at >= now - LOOKBACK, ~visited, ~recorded)
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(WorkRecord)
            .from_select(["assignment_id", "technician_id", "arrival", "no_show_at", "revisits",
                          "created_at"], source)
            .on_conflict_do_nothing(index_elements=["assignment_id"])
            .returning(WorkRecord.assignment_id))
    marked = sorted(db.session.scalars(stmt).all())
    if marked:
        rollups.touch(marked)
        _announce(marked)
    return SweepResult(no_shows=marked)


def _announce(assignment_ids: list[int]) -> None:
    rows = db.session.execute(
        select(Assignment, TechnicianProfile).join(
            TechnicianProfile, TechnicianProfile.id == Assignment.assignee_id)
        .where(Assignment.id.in_(assignment_ids))).all()
    by_firm: dict[int, list[dict]] = {}
    for a, t in rows:
        by_firm.setdefault(a.firm_id, []).append({"subject_id": a.id,
                                                  "after": {"technician_id": t.id}})
    for firm_id, entries in by_firm.items():
        audit.record_many(Action.WORK_NO_SHOW, "assignments", entries, firm_id=firm_id)
    for assignment, tech in rows:
        webhooks.emit(assignment.firm_id, "assignment.no_show", {
            "assignment_id": assignment.id, "title": assignment.title,
            "technician_id": tech.id, "window_ended_at": assignment.ends_at.isoformat()})
        notify_firm(assignment.firm_id, "work.no_show", f"No-show: {assignment.title}",
                    f"{tech.name} did not check in before the window ended. "
                    "Re-route it from the work page.",
                    link=path_for("manage.work", work_id=assignment.id),
                    dedupe_key=f"no-show:{assignment.id}")
        notify(tech.user, "work.no_show", f"Missed: {assignment.title}",
               "The window ended with no check-in. The firm has been told.",
               link=path_for("manage.today"), dedupe_key=f"no-show:{assignment.id}:tech")


def reroute_no_show(actor: User, assignment: Assignment, starts_at: datetime,
                    ends_at: datetime) -> None:
    """The firm takes a no-show's work back, gives it a new window and hands it to
    engage's backfill (the standby technicians are offered it at once)."""
    from ..engage.backfill import release_no_show
    record = db.session.get(WorkRecord, assignment.id)
    if record is None or record.no_show_at is None or record.first_checkin_at is not None:
        from ..errors import InvalidState
        raise InvalidState("Only a no-show can be re-routed from here.")
    release_no_show(actor, assignment, starts_at, ends_at)
