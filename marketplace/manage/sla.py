"""SLA clocks: response (published → accepted), arrival (window start → first check-in),
completion (window end → submitted). Both sides see each clock; a clock about to run
out warns, and one that ran out is a breach, told once to the assignment's dispatcher
and the firm's owners (and the firm's webhooks). KPIs count the breaches.

The sweep is set-based and idempotent: one INSERT ... SELECT per kind and state into
`sla_events`, whose unique key makes a second or concurrent run a no-op; only
the rows it inserted are announced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import Membership, Role, User
from ..core import clock
from ..core.links import path_for
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from ..notifications import webhooks
from ..notifications.services import notify
from . import rollups
from .geofence import settings_for
from .models import ManageSettings, SlaEvent, Visit, WorkRecord

KINDS = {"response": "Accepted", "arrival": "On site", "completion": "Submitted"}
LABELS = {"response": "respond", "arrival": "arrive", "completion": "submit"}


@dataclass(frozen=True)
class Clock:
    kind: str
    due_at: datetime
    met_at: datetime | None
    state: str  # "met", "missed", "running", "at_risk", "breached"

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def _due(a: Assignment, kind: str) -> datetime | None:
    if kind == "response" and a.sla_response_minutes is not None and a.published_at:
        return a.published_at + timedelta(minutes=a.sla_response_minutes)
    if kind == "arrival" and a.sla_arrival_minutes is not None:
        return a.starts_at + timedelta(minutes=a.sla_arrival_minutes)
    if kind == "completion" and a.sla_completion_minutes is not None:
        return a.ends_at + timedelta(minutes=a.sla_completion_minutes)
    return None


def clocks(a: Assignment, record: WorkRecord | None, accepted_at: datetime | None,
           now: datetime | None = None, settings: ManageSettings | None = None) -> list[Clock]:
    """The assignment's clocks as both sides see them (`settings`: the firm's, when the
    caller has them)."""
    now = now or clock.now()
    warn = timedelta(minutes=(settings or settings_for(a.firm_id)).sla_warning_minutes)
    met = {"response": accepted_at,
           "arrival": record.first_checkin_at if record else None,
           "completion": record.submitted_at if record else None}
    out = []
    for kind in KINDS:
        due = _due(a, kind)
        if due is None:
            continue
        done = met[kind]
        if done is not None:
            state = "met" if done <= due else "missed"
        elif a.status == S.CANCELLED:
            continue
        elif now > due:
            state = "breached"
        elif now > due - warn:
            state = "at_risk"
        else:
            state = "running"
        out.append(Clock(kind, due, done, state))
    return out


def _open(kind: str):
    """Assignments whose `kind` clock is still running (not met), as SQL."""
    if kind == "response":
        return and_(Assignment.status == S.PUBLISHED, Assignment.sla_response_minutes.is_not(None),
                    Assignment.published_at.is_not(None))
    if kind == "arrival":
        checked_in = exists().where(Visit.assignment_id == Assignment.id)
        return and_(Assignment.status == S.ASSIGNED, Assignment.sla_arrival_minutes.is_not(None),
                    ~checked_in)
    return and_(Assignment.status.in_([S.ASSIGNED, S.IN_PROGRESS]),
                Assignment.sla_completion_minutes.is_not(None))


def _due_sql(kind: str, dialect: str):
    minutes = {"response": Assignment.sla_response_minutes,
               "arrival": Assignment.sla_arrival_minutes,
               "completion": Assignment.sla_completion_minutes}[kind]
    base = {"response": Assignment.published_at, "arrival": Assignment.starts_at,
            "completion": Assignment.ends_at}[kind]
    if dialect == "postgresql":
        return base + func.make_interval(0, 0, 0, 0, 0, minutes)
    return _sqlite_shift(base, minutes, "+")


def _sqlite_shift(stamp, minutes, sign: str):
    """A stored SQLite time moved by whole minutes, to the microsecond: `datetime()` drops
    the fraction of a second, which whole minutes never change, so it is put back."""
    return func.datetime(stamp, func.printf(sign + "%d minutes", minutes)) \
        .concat(func.substr(stamp, 20))


def _sqlite_now(now: datetime) -> str:
    """`now` as SQLite stores times (microseconds always written), for comparing as text."""
    return now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def sweep(now: datetime | None = None) -> list[tuple[int, str, str]]:
    """Record warnings and breaches that came due; returns the new (assignment, kind, state)."""
    now = now or clock.now()
    dialect = db.engine.dialect.name
    stamp = literal(now, SlaEvent.at.type)
    selects = []
    for kind in KINDS:
        due = _due_sql(kind, dialect)
        now_sql = now if dialect == "postgresql" else _sqlite_now(now)
        breach = select(Assignment.id, literal(kind), literal("breach"), stamp).where(
            _open(kind), due < now_sql)
        # Warnings: the firm's warning minutes before the due time.
        warn_window = func.coalesce(_warning_minutes(), 30)
        if dialect == "postgresql":
            warn_from = due - func.make_interval(0, 0, 0, 0, 0, warn_window)
        else:
            warn_from = _sqlite_shift(due, warn_window, "-")
        warning = select(Assignment.id, literal(kind), literal("warning"), stamp).where(
            _open(kind), warn_from < now_sql, due >= now_sql)
        selects += [breach, warning]
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = (module.insert(SlaEvent)
            .from_select(["assignment_id", "kind", "state", "at"], union_all(*selects))
            .on_conflict_do_nothing(index_elements=["assignment_id", "kind", "state"])
            .returning(SlaEvent.assignment_id, SlaEvent.kind, SlaEvent.state))
    made = sorted(db.session.execute(stmt).all())
    if made:
        rollups.touch(a for a, _, _ in made)
        _escalate(made)
    return made


def _warning_minutes():
    from .models import ManageSettings
    return (select(ManageSettings.sla_warning_minutes)
            .where(ManageSettings.firm_id == Assignment.firm_id).scalar_subquery())


def _escalate(events: list[tuple[int, str, str]]) -> None:
    ids = sorted({e[0] for e in events})
    jobs = {a.id: a for a in db.session.scalars(select(Assignment).where(Assignment.id.in_(ids)))}
    owners: dict[int, list[User]] = {}
    for user, firm_id in db.session.execute(
            select(User, Membership.firm_id).join(Membership, Membership.user_id == User.id)
            .where(Membership.firm_id.in_({a.firm_id for a in jobs.values()}),
                   Membership.role == Role.OWNER)):
        owners.setdefault(firm_id, []).append(user)
    for assignment_id, kind, state in events:
        a = jobs[assignment_id]
        people = {u.id: u for u in owners.get(a.firm_id, [])}
        people[a.created_by_id] = a.created_by
        verb = "missed" if state == "breach" else "is about to miss"
        title = f"SLA {verb}: {LABELS[kind]} on {a.title}"
        for user in people.values():
            notify(user, f"work.sla_{state}", title,
                   f"Due {_due(a, kind).isoformat(timespec='minutes')} (UTC).",
                   link=path_for("manage.work", work_id=a.id),
                   dedupe_key=f"sla:{a.id}:{kind}:{state}:{user.id}")
        if state == "breach":
            webhooks.emit(a.firm_id, "sla.breached", {
                "assignment_id": a.id, "kind": kind, "due_at": _due(a, kind).isoformat()})

