"""The live operations board: today's and this week's work, what needs attention first,
and where the active jobs and checked-in technicians are."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from ..accounts.models import TechnicianProfile, User
from ..core import clock
from ..core.links import path_for
from ..engage.models import Offer, OfferStatus
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment, ScheduleKind
from . import arrival, sla
from .day import local_day_bounds
from .geofence import settings_for
from .models import Arrival, Geofence, Visit, WorkRecord

SHOWN = (S.PUBLISHED, S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED)
NEAR_START = timedelta(hours=4)
FLAG_ORDER = ("no_show", "late", "off_site", "sla_breached", "sla_at_risk", "unfilled_soon")
FLAG_LABELS = {"no_show": "No-show", "late": "Late", "off_site": "Checked in off site",
               "sla_breached": "SLA breached", "sla_at_risk": "SLA at risk",
               "unfilled_soon": "Unfilled, starts soon"}


@dataclass(frozen=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True)
class Job:
    """What the board reads of an assignment, under the assignment's attribute names (the
    arrival state and the SLA clocks take it as they take an assignment). Plain rows, not
    ORM objects: a board shows up to 500 jobs."""
    id: int
    firm_id: int
    title: str
    address: str
    lat: float
    lon: float
    timezone: str
    schedule_kind: ScheduleKind
    starts_at: datetime
    ends_at: datetime
    status: S
    assignee_id: int | None
    published_at: datetime | None
    sla_response_minutes: int | None
    sla_arrival_minutes: int | None
    sla_completion_minutes: int | None
    assignee: Person | None = None


@dataclass(frozen=True)
class Record:
    """The work record's arrival facts."""
    arrival: Arrival | None
    first_checkin_at: datetime | None
    no_show_at: datetime | None
    submitted_at: datetime | None


@dataclass(frozen=True)
class OpenVisit:
    checkin_geofence: Geofence
    checkin_lat: float | None
    checkin_lon: float | None


@dataclass
class Row:
    assignment: Job
    flags: list[str] = field(default_factory=list)
    visit: OpenVisit | None = None

    @property
    def rank(self) -> tuple:
        first = min((FLAG_ORDER.index(f) for f in self.flags), default=len(FLAG_ORDER))
        return (first, self.assignment.starts_at)

    @property
    def city(self) -> str:
        parts = [p.strip() for p in self.assignment.address.split(",")]
        return ", ".join(parts[-2:]) if len(parts) >= 2 else self.assignment.address


_JOB = [f.name for f in fields(Job) if f.name != "assignee"]
_RECORD = [f.name for f in fields(Record)]
_VISIT = [f.name for f in fields(OpenVisit)]
_ASSIGNEE = _JOB.index("assignee_id")


def rows_for(firm_id: int, tz: str, now: datetime | None = None) -> list[Row]:
    """In one statement: the jobs, their assignees' names, work records, open visits and
    accepted offers' times."""
    now = now or clock.now()
    start, end = local_day_bounds(tz, now, days=7)
    shown = (select(Assignment.id)
             .where(Assignment.firm_id == firm_id, Assignment.status.in_(SHOWN),
                    ((Assignment.ends_at >= start) & (Assignment.starts_at < end))
                    | (Assignment.status == S.IN_PROGRESS))
             .order_by(Assignment.starts_at).limit(500).subquery())
    accepted_at = (select(func.max(Offer.responded_at))
                   .where(Offer.assignment_id == Assignment.id,
                          Offer.status == OfferStatus.ACCEPTED)
                   .scalar_subquery())
    # Plain rows through the connection: the ORM's row machinery is not needed for tuples.
    found = db.session.connection().execute(
        select(*(getattr(Assignment, name).label(name) for name in _JOB),
               User.name.label("assignee_name"),
               WorkRecord.assignment_id.label("record_of"),
               *(getattr(WorkRecord, name).label(f"record_{name}") for name in _RECORD),
               Visit.id.label("visit_id"),
               *(getattr(Visit, name).label(f"visit_{name}") for name in _VISIT),
               accepted_at.label("accepted_at"))
        .join(shown, shown.c.id == Assignment.id)     # the 500 first, then what they need
        .outerjoin(TechnicianProfile, TechnicianProfile.id == Assignment.assignee_id)
        .outerjoin(User, User.id == TechnicianProfile.user_id)
        .outerjoin(WorkRecord, WorkRecord.assignment_id == Assignment.id)
        .outerjoin(Visit, and_(Visit.assignment_id == Assignment.id, Visit.checkout_at.is_(None)))
        .order_by(Assignment.starts_at, Assignment.id)).all()
    settings = settings_for(firm_id)   # once, not per row
    # Positions in a row: the job's fields, the name, the record's, the visit's, acceptance.
    j, r0 = len(_JOB), len(_JOB) + 2
    v0 = r0 + len(_RECORD) + 1
    out = []
    for row in found:
        a = Job(*row[:j], assignee=Person(row[_ASSIGNEE], row[j])
                if row[j] is not None else None)
        record = Record(*row[r0:r0 + len(_RECORD)]) if row[r0 - 1] is not None else None
        item = Row(a, visit=OpenVisit(*row[v0:v0 + len(_VISIT)])
                   if row[v0 - 1] is not None else None)
        state = arrival.state_of(a, record, now, settings)
        if state:
            item.flags.append(state)
        if item.visit is not None and item.visit.checkin_geofence != Geofence.INSIDE:
            item.flags.append("off_site")
        if a.status == S.PUBLISHED and a.starts_at - now < NEAR_START:
            item.flags.append("unfilled_soon")
        if a.sla_response_minutes is not None or a.sla_arrival_minutes is not None \
                or a.sla_completion_minutes is not None:     # clocks run only with targets
            clocks = sla.clocks(a, record, row[-1], now, settings)
            if any(c.state in ("breached", "missed") for c in clocks):
                item.flags.append("sla_breached")
            elif any(c.state == "at_risk" for c in clocks):
                item.flags.append("sla_at_risk")
        out.append(item)
    return sorted(out, key=lambda r: r.rank)


def as_json(rows: list[Row]) -> dict:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.assignment.status.value] = counts.get(row.assignment.status.value, 0) + 1
    return {
        "counts": counts,
        "attention": sum(1 for r in rows if r.flags),
        "rows": [{"id": r.assignment.id, "title": r.assignment.title,
                  "status": r.assignment.status.value, "flags": r.flags,
                  "flag_labels": [FLAG_LABELS[f] for f in r.flags],
                  "starts_at": r.assignment.starts_at.isoformat(),
                  "technician": r.assignment.assignee.name if r.assignment.assignee else None,
                  "technician_url": (path_for("people.technician",
                                              technician_id=r.assignment.assignee_id)
                                     if r.assignment.assignee_id else None),
                  "site": {"lat": r.assignment.lat, "lon": r.assignment.lon, "city": r.city},
                  "tech_position": ({"lat": r.visit.checkin_lat, "lon": r.visit.checkin_lon}
                                    if r.visit is not None and r.visit.checkin_lat is not None
                                    else None)}
                 for r in rows],
    }
