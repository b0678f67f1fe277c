"""The live operations board: today's and this week's work, what needs attention first,
and where the active jobs and checked-in technicians are."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Load, joinedload, load_only

from ..accounts.models import TechnicianProfile, User
from ..core import clock
from ..core.links import path_for
from ..engage.models import Offer, OfferStatus
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from . import arrival, sla
from .day import local_day_bounds
from .geofence import settings_for
from .models import Geofence, Visit, WorkRecord

SHOWN = (S.PUBLISHED, S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED)
NEAR_START = timedelta(hours=4)
FLAG_ORDER = ("no_show", "late", "off_site", "sla_breached", "sla_at_risk", "unfilled_soon")
FLAG_LABELS = {"no_show": "No-show", "late": "Late", "off_site": "Checked in off site",
               "sla_breached": "SLA breached", "sla_at_risk": "SLA at risk",
               "unfilled_soon": "Unfilled, starts soon"}


@dataclass
class Row:
    assignment: Assignment
    flags: list[str] = field(default_factory=list)
    visit: Visit | None = None

    @property
    def rank(self) -> tuple:
        first = min((FLAG_ORDER.index(f) for f in self.flags), default=len(FLAG_ORDER))
        return (first, self.assignment.starts_at)

    @property
    def city(self) -> str:
        parts = [p.strip() for p in self.assignment.address.split(",")]
        return ", ".join(parts[-2:]) if len(parts) >= 2 else self.assignment.address


# What the board, its JSON, the arrival state and the SLA clocks read (a board can show
# 500 jobs: loading every column of each costs more than the queries).
_JOB = (Assignment.id, Assignment.firm_id, Assignment.title, Assignment.address,
        Assignment.lat, Assignment.lon, Assignment.timezone, Assignment.schedule_kind,
        Assignment.starts_at, Assignment.ends_at, Assignment.status, Assignment.assignee_id,
        Assignment.published_at, Assignment.sla_response_minutes,
        Assignment.sla_arrival_minutes, Assignment.sla_completion_minutes)
_RECORD = (WorkRecord.assignment_id, WorkRecord.arrival, WorkRecord.first_checkin_at,
           WorkRecord.no_show_at, WorkRecord.submitted_at)
_VISIT = (Visit.id, Visit.assignment_id, Visit.checkin_geofence, Visit.checkin_lat,
          Visit.checkin_lon)


def rows_for(firm_id: int, tz: str, now: datetime | None = None) -> list[Row]:
    """In one statement: the jobs, their work records, open visits, accepted offers'
    times and assignees' names."""
    now = now or clock.now()
    start, end = local_day_bounds(tz, now, days=7)
    accepted_at = (select(func.max(Offer.responded_at))
                   .where(Offer.assignment_id == Assignment.id,
                          Offer.status == OfferStatus.ACCEPTED)
                   .scalar_subquery())
    found = db.session.execute(
        select(Assignment, WorkRecord, Visit, accepted_at)
        .outerjoin(WorkRecord, WorkRecord.assignment_id == Assignment.id)
        .outerjoin(Visit, and_(Visit.assignment_id == Assignment.id, Visit.checkout_at.is_(None)))
        .options(load_only(*_JOB), Load(WorkRecord).load_only(*_RECORD),
                 Load(Visit).load_only(*_VISIT),
                 joinedload(Assignment.assignee)
                 .load_only(TechnicianProfile.id, TechnicianProfile.user_id)
                 .joinedload(TechnicianProfile.user).load_only(User.id, User.name))  # its name
        .where(Assignment.firm_id == firm_id, Assignment.status.in_(SHOWN),
               ((Assignment.ends_at >= start) & (Assignment.starts_at < end))
               | (Assignment.status == S.IN_PROGRESS))
        .order_by(Assignment.starts_at).limit(500)).all()
    jobs = [a for a, *_ in found]
    records = {a.id: record for a, record, _, _ in found}
    open_visits = {a.id: visit for a, _, visit, _ in found}
    accepted = {a.id: at for a, _, _, at in found}
    settings = settings_for(firm_id)   # once, not per row
    out = []
    for a in jobs:
        record = records.get(a.id)
        row = Row(a, visit=open_visits.get(a.id))
        state = arrival.state_of(a, record, now, settings)
        if state:
            row.flags.append(state)
        if row.visit is not None and row.visit.checkin_geofence != Geofence.INSIDE:
            row.flags.append("off_site")
        if a.status == S.PUBLISHED and a.starts_at - now < NEAR_START:
            row.flags.append("unfilled_soon")
        clocks = sla.clocks(a, record, accepted.get(a.id), now, settings)
        if any(c.state in ("breached", "missed") for c in clocks):
            row.flags.append("sla_breached")
        elif any(c.state == "at_risk" for c in clocks):
            row.flags.append("sla_at_risk")
        out.append(row)
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
