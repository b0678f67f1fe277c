"""The technician's day and week: what is next, where, when, and what it needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import TechnicianProfile
from ..core import clock
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from . import arrival, proof
from .models import Geofence, Visit, WorkRecord

ACTIVE = (S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED)


@dataclass
class Stop:
    assignment: Assignment
    record: WorkRecord | None
    visits: list[Visit] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def checked_in(self) -> bool:
        return any(v.checkout_at is None for v in self.visits)

    @property
    def map_urls(self) -> dict:
        lat, lon = self.assignment.lat, self.assignment.lon
        return {"geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}",
                "web": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/"
                       f"{lat:.6f}/{lon:.6f}"}


def local_day_bounds(tz: str, now: datetime, days: int = 1) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=days)


def schedule(tech: TechnicianProfile, days: int = 7) -> list[Stop]:
    """Work in progress first, then what is assigned from today on, in time order."""
    now = clock.now()
    start, end = local_day_bounds(tech.timezone or "UTC", now, days)
    rows = list(db.session.scalars(
        select(Assignment).options(selectinload(Assignment.firm))
        .where(Assignment.assignee_id == tech.id, Assignment.status.in_(ACTIVE),
               ((Assignment.ends_at >= start) & (Assignment.starts_at < end))
               | (Assignment.status == S.IN_PROGRESS))
        .order_by(Assignment.starts_at)))
    ids = [a.id for a in rows]
    records = {r.assignment_id: r for r in db.session.scalars(
        select(WorkRecord).where(WorkRecord.assignment_id.in_(ids)))} if ids else {}
    visits: dict[int, list[Visit]] = {}
    if ids:
        for visit in db.session.scalars(select(Visit).where(Visit.assignment_id.in_(ids))
                                        .order_by(Visit.number)):
            visits.setdefault(visit.assignment_id, []).append(visit)
    stops = []
    for a in rows:
        stop = Stop(a, records.get(a.id), visits.get(a.id, []))
        state = arrival.state_of(a, stop.record, now)
        if state:
            stop.flags.append(state)
        last = stop.visits[-1] if stop.visits else None
        if last is not None and last.checkout_at is None and \
                last.checkin_geofence != Geofence.INSIDE:
            stop.flags.append("off_site")
        if stop.record is not None and stop.record.revisits and a.status == S.IN_PROGRESS:
            stop.flags.append("revisit")
        stops.append(stop)
    stops.sort(key=lambda s: (s.assignment.status != S.IN_PROGRESS, s.assignment.starts_at))
    return stops


def today_and_week(tech: TechnicianProfile) -> dict:
    stops = schedule(tech)
    now = clock.now()
    _, end_of_today = local_day_bounds(tech.timezone or "UTC", now)
    open_stops = [s for s in stops if s.assignment.status != S.SUBMITTED]
    upcoming = open_stops[1:] if open_stops else []
    return {
        "next": open_stops[0] if open_stops else None,
        "next_tasks": proof.progress(open_stops[0].assignment) if open_stops else [],
        "today": [s for s in upcoming if s.assignment.starts_at < end_of_today],
        "week": [s for s in upcoming if s.assignment.starts_at >= end_of_today],
        "waiting": [s for s in stops if s.assignment.status == S.SUBMITTED],
    }
