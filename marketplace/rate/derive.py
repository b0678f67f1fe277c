"""What one assignment's records amount to, read in one statement.

`facts` reads everything an assignment's events derive from (manage's work record and
SLA breaches, engage's backouts, rate's ratings and upheld disputes), the events
stored for it and which of its technicians are in pools with minimum scores, as one UNION ALL of rows of one shape; `derive` turns them into the
events wanted, keyed (technician, kind). Syncing an assignment therefore costs one read
whatever changed, and nothing more when nothing did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Float, Integer, String, bindparam, cast, func, literal_column, null, select, union_all

from ..engage.models import Backout
from ..core.statements import built_once
from ..extensions import db
from ..find.models import Assignment, PoolMember
from ..manage.kpis import LATE_BACKOUT_HOURS
from ..manage.models import Arrival, SlaEvent, WorkRecord
from . import gates
from .models import SITE_NOT_READY, Direction, Dispute, EventStatus, RateEvent, Rating
from .reliability import KINDS, stars_value

EXCUSABLE = ("on_time", "late", "no_show", "first_time", "revisited", "sla_met", "sla_missed")


@dataclass(frozen=True)
class Derived:
    technician_id: int
    firm_id: int
    kind: str
    value: float
    weight: float
    occurred_at: datetime
    status: str


@dataclass(frozen=True)
class Stored:
    """An event row as stored (the columns a sync compares and corrects)."""
    id: int
    technician_id: int
    kind: str
    value: float
    weight: float
    growth: float
    occurred_at: datetime
    status: str


@dataclass
class Facts:
    firm_id: int | None = None            # None: no such assignment
    has_sla: bool = False
    work: tuple | None = None             # (technician, arrival, revisits, checkin, no-show, approved)
    sla_breached: bool = False
    backouts: list[tuple] = field(default_factory=list)   # (technician, hours before, at)
    rated: dict[int, tuple[float, datetime]] = field(default_factory=dict)
    excused: set[int] = field(default_factory=set)
    struck: set[tuple[int, str]] = field(default_factory=set)
    stored: dict[tuple[int, str], Stored] = field(default_factory=dict)
    gated: set[int] = field(default_factory=set)   # of its technicians, those in gated pools


def _src(tag: str):
    return literal_column(f"'{tag}'").label("src")


def _build_facts_statement():
    """Rows (src, tech, n1, n2, n3, at1, at2, at3, t1, t2, ident) of the assignment bound
    as `aid`; the first select's columns give the types (UTC timestamps on every
    backend). Kept under 4 KB of SQL: the driver parses a longer statement afresh at
    every execution."""
    assignment_id = bindparam("aid")
    w, b, r, d, s, e = WorkRecord, Backout, Rating, Dispute, SlaEvent, RateEvent
    # The first select's columns are typed (its NULLs too): PostgreSQL resolves a UNION's
    # column types pair by pair, left to right, and a NULL after them takes their type.
    work = select(_src("w"), w.technician_id.label("tech"), cast(w.revisits, Float).label("n1"),
                  cast(null(), Float).label("n2"), cast(null(), Float).label("n3"),
                  w.first_checkin_at.label("at1"), w.no_show_at.label("at2"),
                  w.approved_at.label("at3"), cast(w.arrival, String).label("t1"),
                  cast(null(), String).label("t2"), cast(null(), Integer).label("ident")) \
        .where(w.assignment_id == assignment_id)
    n = at = t = i = null()
    backouts = select(_src("b"), b.technician_id, cast(b.hours_before_start, Float), n, n,
                      b.created_at, at, at, t, t, b.id) \
        .where(b.assignment_id == assignment_id, b.offboarded.is_(False))
    ratings = select(_src("r"), r.technician_id, cast(r.overall, Float), n, n, r.revealed_at,
                     at, at, r.direction, t, r.id) \
        .where(r.assignment_id == assignment_id,
               ((r.direction == Direction.OF_TECHNICIAN.value) & r.revealed_at.is_not(None))
               | ((r.direction == Direction.OF_FIRM.value) & r.site_not_ready.is_(True)))
    disputes = select(_src("d"), d.technician_id, n, n, n, at, at, at, d.kind, t, d.id) \
        .where(d.assignment_id == assignment_id, d.status == "upheld")
    a = Assignment
    slas = func.coalesce(a.sla_response_minutes, 0) + func.coalesce(a.sla_arrival_minutes, 0) \
        + func.coalesce(a.sla_completion_minutes, 0)
    job = select(_src("a"), a.firm_id, cast(slas, Float), n, n, at, at, at, t, t, a.id) \
        .where(a.id == assignment_id)
    sla = select(_src("s"), i, n, n, n, at, at, at, t, t, s.id) \
        .where(s.assignment_id == assignment_id, s.state == "breach")
    stored = select(_src("e"), e.technician_id, e.value, e.weight, e.growth, e.occurred_at,
                    at, at, e.kind, e.status, e.id) \
        .where(e.assignment_id == assignment_id)
    # Whose scorecard the sync may move (any technician with an event wanted or stored)
    # and is a member of a pool with minimum scores: their pools are checked after it.
    techs = union_all(*(select(m.technician_id).where(m.assignment_id == assignment_id)
                        for m in (w, b, r, e)))
    pm = PoolMember
    members = gates.gated(_src("g"), pm.technician_id, n, n, n, at, at, at, t, t, pm.id) \
        .where(pm.technician_id.in_(techs))
    return union_all(work, job, backouts, ratings, disputes, sla, stored, members)


def _facts_statement():
    """It runs at every event an assignment's records produce."""
    return built_once(("rate.facts",), _build_facts_statement)


def facts(assignment_id: int) -> Facts:
    found = Facts()
    for src, tech, n1, n2, n3, at1, at2, at3, t1, t2, ident in \
            db.session.execute(_facts_statement(), {"aid": assignment_id}).all():
        if src == "w":
            found.work = (tech, t1, n1, at1, at2, at3)
        elif src == "b":
            found.backouts.append((ident, tech, n1, at1))
        elif src == "r" and t1 == Direction.OF_TECHNICIAN.value:
            found.rated[tech] = (stars_value(int(n1)), at1)
        elif src == "r":
            found.excused.add(tech)
        elif src == "d":
            found.struck.add((tech, t1))
        elif src == "a":
            found.firm_id, found.has_sla = tech, bool(n1)
        elif src == "s":
            found.sla_breached = True
        elif src == "g":
            found.gated.add(tech)
        else:
            found.stored[(tech, t1)] = Stored(ident, tech, t1, float(n1), float(n2), float(n3),
                                              at1, t2)
    found.backouts.sort()
    return found


def derive(assignment_id: int, known: Facts | None = None) -> dict[tuple[int, str], Derived]:
    """The events the records of one assignment amount to, keyed (technician, kind)."""
    f = known if known is not None else facts(assignment_id)
    if f.firm_id is None:
        return {}
    found: dict[tuple[int, str], tuple[float, datetime]] = {}
    if f.work is not None:
        t, arrival, revisits, checkin_at, no_show_at, approved_at = f.work
        if checkin_at is not None and arrival in (Arrival.ON_TIME.value, Arrival.LATE.value):
            kind = "on_time" if arrival == Arrival.ON_TIME.value else "late"
            found[(t, kind)] = (1.0, checkin_at)
            found[(t, "kept")] = (1.0, checkin_at)
        elif no_show_at is not None and arrival == Arrival.NO_SHOW.value:
            found[(t, "no_show")] = (0.0, no_show_at)
        if approved_at is not None:
            found[(t, "completed")] = (1.0, approved_at)
            found[(t, "first_time" if revisits == 0 else "revisited")] = (0.0, approved_at)
            if f.has_sla:
                found[(t, "sla_missed" if f.sla_breached else "sla_met")] = (0.0, approved_at)
    for _, tech, hours, at in f.backouts:
        kind = "late_backout" if hours < LATE_BACKOUT_HOURS else "backout"
        found.pop((tech, "backout"), None)
        found.pop((tech, "late_backout"), None)
        found[(tech, kind)] = (0.0, at)
    for tech, (value, at) in f.rated.items():
        found[(tech, "rated")] = (value, at)
    # a report of the site the firm contested and an admin upheld excuses nothing
    excused = {tech for tech in f.excused if (tech, SITE_NOT_READY) not in f.struck}
    out = {}
    for (tech, kind), (value, at) in found.items():
        _, base_value, weight = KINDS[kind]
        if kind != "rated":
            value = base_value
        status = EventStatus.COUNTED
        if (tech, kind) in f.struck:
            status = EventStatus.STRUCK
        elif tech in excused and kind in EXCUSABLE:
            status = EventStatus.EXCUSED
        out[(tech, kind)] = Derived(tech, f.firm_id, kind, value, weight, at, status.value)
    return out
