"""KPIs from observed events, never typed in: per firm, and per site or technician.

Each KPI is written once here: its definition (shown on the page), the rows it
counts (one per assignment, backout or acceptance, with the instant that puts
it in a week), and how a row scores. The page, the chart, the CSV export, the
API and the drill-down list of the assignments behind a figure all read the
same definition. Weeks are 7-day buckets counted back from the end of the
period, in UTC: week 0 is (end - 7 days, end].
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Float, Integer, and_, case, cast, exists, func, literal, select, union_all

from ..accounts.models import TechnicianProfile, User
from ..core import clock
from ..engage.models import Backout, Offer, OfferStatus
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from .models import Arrival, SlaEvent, Visit, WorkRecord

# A backout this close to the start counts as late (KPIs here, reliability in rate).
LATE_BACKOUT_HOURS = 24
TAKEN = (S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED, S.APPROVED, S.PAID)


@dataclass(frozen=True)
class Scope:
    firm_id: int
    start: datetime
    end: datetime
    technician_id: int | None = None
    site: str | None = None

    @property
    def weeks(self) -> int:
        return max(1, -(-int((self.end - self.start).total_seconds()) // (7 * 86400)))


@dataclass(frozen=True)
class Kpi:
    key: str
    name: str
    definition: str
    unit: str                  # "%" rates, "min" averages
    # select(assignment_id, at, <scores>) of the counted rows; KPIs that count the same
    # rows share one source (the page computes them in one statement).
    source: Callable[[Scope], object]
    column: str                # this KPI's score among the source's
    better: str = "higher"

    def rows(self, scope: Scope):
        """select(assignment_id, at, value) of the rows this KPI counts."""
        rows = self.source(scope).subquery()
        return select(rows.c.assignment_id, rows.c.at, rows.c[self.column].label("value"))


def _seconds_between(later, earlier):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


@dataclass(frozen=True)
class ForAssignments:
    """Not a period but assignments: each source's rows of these, whenever they fall, with
    the firm, the technician and the site they count for (the rollups keep them)."""
    ids: tuple[int, ...]


def _scoped(stmt, scope: Scope | ForAssignments, at, technician):
    """The rows of the scope: in the firm's period (and of its technician or site), or of
    the assignments named, with who and where each counts for."""
    if isinstance(scope, ForAssignments):
        return stmt.add_columns(Assignment.firm_id.label("firm_id"),
                                technician.label("technician_id"),
                                Assignment.address.label("site")).where(
            Assignment.id.in_(scope.ids))
    # (start, end]: the weeks count back from the end, each including its later instant.
    stmt = stmt.where(Assignment.firm_id == scope.firm_id, at > scope.start, at <= scope.end)
    if scope.technician_id:
        stmt = stmt.where(technician == scope.technician_id)
    if scope.site:
        stmt = stmt.where(Assignment.address == scope.site)
    return stmt


def _share(condition):
    return case((condition, 1.0), else_=0.0)


def _arrivals(scope: Scope | ForAssignments):
    """Jobs whose window started in the period and that have an arrival."""
    stmt = (select(Assignment.id.label("assignment_id"), Assignment.starts_at.label("at"),
                   _share(WorkRecord.arrival == Arrival.ON_TIME).label("on_time"),
                   _share(WorkRecord.arrival == Arrival.NO_SHOW).label("no_show"))
            .join(WorkRecord, WorkRecord.assignment_id == Assignment.id)
            .where(WorkRecord.arrival.is_not(None)))
    return _scoped(stmt, scope, Assignment.starts_at, WorkRecord.technician_id)


def _approved(scope: Scope | ForAssignments):
    """Jobs approved in the period: first time or not, and their minutes on site (the
    visits joined and summed per job)."""
    seconds = func.coalesce(func.sum(_seconds_between(Visit.checkout_at, Visit.checkin_at)), 0)
    stmt = (select(Assignment.id.label("assignment_id"), WorkRecord.approved_at.label("at"),
                   _share(WorkRecord.revisits == 0).label("first_time"),
                   cast(seconds / 60.0, Float).label("time_on_site"))
            .join(WorkRecord, WorkRecord.assignment_id == Assignment.id)
            .outerjoin(Visit, and_(Visit.assignment_id == Assignment.id,
                                   Visit.checkout_at.is_not(None)))
            .where(WorkRecord.approved_at.is_not(None))
            .group_by(Assignment.id, WorkRecord.approved_at, WorkRecord.revisits,
                      WorkRecord.technician_id))
    return _scoped(stmt, scope, WorkRecord.approved_at, WorkRecord.technician_id)


def _takes(scope: Scope | ForAssignments):
    """Takes of jobs whose window started in the period: each backout (not by the
    compliance sweep) and each job still taken; a backout scores 1, a late one 1 again."""
    backed = (select(Assignment.id.label("assignment_id"), Assignment.starts_at.label("at"),
                     literal(1.0).label("backout"),
                     _share(Backout.hours_before_start < LATE_BACKOUT_HOURS).label("late_backout"))
              .join(Backout, Backout.assignment_id == Assignment.id)
              .where(Backout.offboarded.is_(False)))
    kept = (select(Assignment.id.label("assignment_id"), Assignment.starts_at.label("at"),
                   literal(0.0).label("backout"), literal(0.0).label("late_backout"))
            .where(Assignment.status.in_(TAKEN)))
    return union_all(_scoped(backed, scope, Assignment.starts_at, Backout.technician_id),
                     _scoped(kept, scope, Assignment.starts_at, Assignment.assignee_id))


def _time_to_fill(scope: Scope | ForAssignments):
    minutes = _seconds_between(Offer.responded_at, Assignment.published_at) / 60.0
    stmt = (select(Assignment.id.label("assignment_id"), Assignment.published_at.label("at"),
                   cast(minutes, Float).label("time_to_fill"))
            .join(Offer, and_(Offer.assignment_id == Assignment.id,
                              Offer.status == OfferStatus.ACCEPTED))
            .where(Assignment.published_at.is_not(None), Offer.responded_at.is_not(None)))
    return _scoped(stmt, scope, Assignment.published_at, Offer.technician_id)


def _sla(scope: Scope | ForAssignments):
    breached = exists().where(SlaEvent.assignment_id == Assignment.id,
                              SlaEvent.state == "breach")
    has_target = (Assignment.sla_response_minutes.is_not(None)
                  | Assignment.sla_arrival_minutes.is_not(None)
                  | Assignment.sla_completion_minutes.is_not(None))
    stmt = (select(Assignment.id.label("assignment_id"), Assignment.starts_at.label("at"),
                   case((breached, 0.0), else_=1.0).label("sla"))
            .where(has_target, Assignment.status.in_(TAKEN) | breached))
    return _scoped(stmt, scope, Assignment.starts_at, Assignment.assignee_id)


KPIS = [
    Kpi("on_time", "On-time arrival rate",
        "Of the jobs whose window started in the period and that have an arrival (on time, "
        "late or no-show), the share whose first check-in was on time: by the firm's late "
        "threshold after the window's start, or within a flexible range.",
        "%", _arrivals, "on_time"),
    Kpi("no_show", "No-show rate",
        "Of the same jobs, the share where the window ended with no check-in.",
        "%", _arrivals, "no_show", better="lower"),
    Kpi("first_time", "First-time completion rate",
        "Of the jobs approved in the period, the share approved without being sent back.",
        "%", _approved, "first_time"),
    Kpi("backout", "Backout rate",
        "Of the jobs taken whose window started in the period, the share a technician gave "
        "back (offboarding by the compliance sweep is not counted).",
        "%", _takes, "backout", better="lower"),
    Kpi("late_backout", "Late backout rate",
        "Of the same jobs, the share given back within 24 hours of the start.",
        "%", _takes, "late_backout", better="lower"),
    Kpi("time_to_fill", "Time to fill",
        "Average minutes from publishing to a technician's acceptance, for jobs published "
        "in the period.", "min", _time_to_fill, "time_to_fill", better="lower"),
    Kpi("sla", "SLA adherence",
        "Of the jobs with SLA targets whose window started in the period, the share with "
        "no breached clock.", "%", _sla, "sla"),
    Kpi("time_on_site", "Average time on site",
        "Average minutes on site (all visits, check-in to check-out) of the jobs approved "
        "in the period.", "min", _approved, "time_on_site", better="lower"),
]
BY_KEY = {k.key: k for k in KPIS}


def _bucket(at, scope: Scope):
    """Week index counted back from the period's end: 0 is the last week."""
    weeks = _seconds_between(literal(scope.end, at.type), at) / (7 * 86400.0)
    if db.engine.dialect.name == "postgresql":
        weeks = func.floor(weeks)   # PostgreSQL's cast rounds to the nearest
    return cast(weeks, Integer)  # SQLite's truncates: the floor of a non-negative number


@dataclass
class Figure:
    kpi: Kpi
    value: float | None      # a share (0–1) or minutes; None when nothing counted
    count: int
    weekly: list[tuple[datetime, float | None, int]]   # oldest first

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value * 100:.0f}%" if self.kpi.unit == "%" else f"{self.value:,.0f} min"


def _figures(kpis: list[Kpi], scope: Scope) -> dict[str, Figure]:
    """KPIs of one source, in one statement: weekly sums of their scores and the count."""
    rows = kpis[0].source(scope).subquery()
    bucket = _bucket(rows.c.at, scope).label("bucket")
    data = db.session.execute(
        select(bucket, func.count(), *(func.sum(rows.c[k.column]) for k in kpis))
        .group_by(bucket)).all()
    data = [row for row in data if row[0] is not None]
    return {kpi.key: figure_of(kpi, scope, {int(row[0]): (row[position], row[1])
                                            for row in data})
            for position, kpi in enumerate(kpis, 2)}


def figure_of(kpi: Kpi, scope: Scope, by_week: dict[int, tuple[float, int]]) -> Figure:
    """The figure from each week's sum of scores and count (week 0 the last)."""
    by_week = {w: v for w, v in by_week.items() if 0 <= w < scope.weeks}
    weekly = []
    for index in range(scope.weeks - 1, -1, -1):
        total, n = by_week.get(index, (0.0, 0))
        weekly.append((scope.end - timedelta(days=7 * (index + 1)),
                       (total / n) if n else None, n))
    total = sum(t for t, _ in by_week.values())
    count = sum(n for _, n in by_week.values())
    return Figure(kpi, (total / count) if count else None, count, weekly)


def sources() -> dict[str, list[Kpi]]:
    """Each source of counted rows, by name, and the KPIs scoring them in page order."""
    out: dict[str, list[Kpi]] = {}
    for kpi in KPIS:
        out.setdefault(kpi.source.__name__.strip("_"), []).append(kpi)
    return out


def compute(kpi: Kpi, scope: Scope) -> Figure:
    return _figures([kpi], scope)[kpi.key]


def dashboard(scope: Scope) -> list[Figure]:
    """Every KPI; those counting the same rows are computed together."""
    by_source: dict[object, list[Kpi]] = {}
    for kpi in KPIS:
        by_source.setdefault(kpi.source, []).append(kpi)
    figures: dict[str, Figure] = {}
    for group in by_source.values():
        figures.update(_figures(group, scope))
    return [figures[kpi.key] for kpi in KPIS]


def counted(kpi: Kpi, scope: Scope, limit: int = 500) -> list[tuple[Assignment, float]]:
    """The assignments behind a figure, with each one's score."""
    rows = kpi.rows(scope).subquery()
    return [(a, value) for a, value in db.session.execute(
        select(Assignment, rows.c.value).join(rows, rows.c.assignment_id == Assignment.id)
        .order_by(rows.c.at.desc()).limit(limit)).all()]


def scope_for(firm_id: int, weeks: int = 12, *, end: datetime | None = None,
              technician_id: int | None = None, site: str | None = None) -> Scope:
    end = end or clock.now()
    return Scope(firm_id, end - timedelta(days=7 * weeks), end, technician_id, site)


def sparkline(figure: Figure, width: int = 240, height: int = 48) -> str:
    """A small server-drawn SVG of the weekly values (no script, no library)."""
    points = [(i, v) for i, (_, v, _) in enumerate(figure.weekly) if v is not None]
    n = max(1, len(figure.weekly) - 1)
    top = max([v for _, v in points] + [1e-9]) if figure.kpi.unit != "%" else 1.0
    coords = " ".join(f"{i * width / n:.1f},{height - 4 - (v / top) * (height - 8):.1f}"
                      for i, v in points)
    label = f"{figure.kpi.name} by week"
    dots = "".join(f'<circle cx="{i * width / n:.1f}" '
                   f'cy="{height - 4 - (v / top) * (height - 8):.1f}" r="2.5"/>'
                   for i, v in points)
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{label}"><title>{label}</title>'
            f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{coords}"/>'
            f'<g fill="currentColor">{dots}</g></svg>')


def filter_choices(firm_id: int, limit: int = 500) -> tuple[list[tuple[int, str]], list[str]]:
    """What the KPI page can narrow to: the technicians who have held the firm's work (by
    name) and the sites of its work, each in alphabetical order."""
    people = db.session.execute(
        select(TechnicianProfile.id, User.name).join(User, User.id == TechnicianProfile.user_id)
        .where(TechnicianProfile.id.in_(select(Assignment.assignee_id).where(
            Assignment.firm_id == firm_id, Assignment.assignee_id.is_not(None))))
        .order_by(User.name, TechnicianProfile.id).limit(limit)).all()
    sites = db.session.scalars(
        select(Assignment.address).where(Assignment.firm_id == firm_id,
                                         Assignment.assignee_id.is_not(None))
        .group_by(Assignment.address).order_by(Assignment.address).limit(limit)).all()
    return [(tid, name) for tid, name in people], list(sites)
