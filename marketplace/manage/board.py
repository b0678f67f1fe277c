"""The live operations board: today's and this week's work, what needs attention first,
and where the active jobs and checked-in technicians are."""
from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from ..core import clock
from ..core.links import path_for
from ..find.lifecycle import AssignmentStatus as S
from . import board_query
from .board_query import NEAR_START, SHOWN  # noqa: F401  (what the board shows, and when)
from .day import local_day_bounds

FLAG_ORDER = ("no_show", "late", "off_site", "sla_breached", "sla_at_risk", "unfilled_soon")
FLAG_LABELS = {"no_show": "No-show", "late": "Late", "off_site": "Checked in off site",
               "sla_breached": "SLA breached", "sla_at_risk": "SLA at risk",
               "unfilled_soon": "Unfilled, starts soon"}
_RANK = {flag: i for i, flag in enumerate(FLAG_ORDER)}


class Person(NamedTuple):
    id: int
    name: str


class Job(NamedTuple):
    """What the board shows of an assignment, under the assignment's attribute names.
    Plain rows, not ORM objects: a board shows up to 500 jobs."""
    id: int
    title: str
    address: str
    lat: float
    lon: float
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: S
    assignee_id: int | None
    assignee: Person | None = None


class Position(NamedTuple):
    lat: float
    lon: float


class Row:
    """A job, its flags (in the order the rules add them) and where its checked-in
    technician said they were."""
    __slots__ = ("assignment", "flags", "position", "rank")

    def __init__(self, assignment: Job, flags: list[str], position: Position | None = None):
        self.assignment = assignment
        self.flags = flags
        self.position = position
        self.rank = min((_RANK[f] for f in flags), default=len(FLAG_ORDER))

    @property
    def city(self) -> str:
        parts = [p.strip() for p in self.assignment.address.split(",")]
        return ", ".join(parts[-2:]) if len(parts) >= 2 else self.assignment.address


_J = len(board_query.COLUMNS)


def rows_for(firm_id: int, tz: str, now: datetime | None = None) -> list[Row]:
    """One statement: the jobs, their assignees' names, open visits' positions and flags;
    those needing attention first (by the first rule they break), then by start."""
    now = now or clock.now()
    start, end = local_day_bounds(tz, now, days=7)
    out = []
    for row in board_query.fetch(firm_id, now, start, end):
        name, lat, lon, arrival, off_site, unfilled, sla = row[_J:]
        job = Job(*row[:_J], Person(row[_J - 1], name) if name is not None else None)
        flags = [f for f in (arrival, off_site, unfilled, sla) if f is not None]
        out.append(Row(job, flags, Position(lat, lon) if lat is not None else None))
    out.sort(key=attrgetter("rank"))    # stable: within a rank, the statement's order
    return out


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
                  "tech_position": ({"lat": r.position.lat, "lon": r.position.lon}
                                    if r.position is not None else None)}
                 for r in rows],
    }
