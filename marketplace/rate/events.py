"""Observed events: derived per assignment from what earlier stages recorded, and applied
to the technicians' scorecards incrementally, in the transaction that changed them.

What counts is read from manage's work record (arrival as manage classified it, no-show,
revisits, approval: the same fields its KPIs count), engage's backouts (not the
compliance sweep's offboarding; within 24 hours of the start is a late one), manage's
SLA events (a breached clock), and rate's own revealed ratings. `sync_assignment`
derives an assignment's events afresh, compares them with those stored and adds the
difference to each technician's scorecard, so running it twice changes nothing.

Lifecycle moves mark their assignment; the marks are synced just before the
transaction commits (the stage that moved it writes its records after the move).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, event, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..core import clock
from ..engage.models import Backout
from ..extensions import db
from ..find.models import Assignment
from ..manage.kpis import LATE_BACKOUT_HOURS
from ..manage.models import Arrival, SlaEvent, WorkRecord
from . import means as means_mod
from .models import Direction, Dispute, EventStatus, RateEvent, Rating, TechnicianScore
from .reliability import COMPONENT_SHARES, KINDS, growth_at, score, score_sql, stars_value

EXCUSABLE = ("on_time", "late", "no_show", "first_time", "revisited", "sla_met", "sla_missed")
_DIRTY = "rate_dirty_assignments"


@dataclass(frozen=True)
class Derived:
    technician_id: int
    firm_id: int
    kind: str
    value: float
    weight: float
    occurred_at: datetime
    status: str


def derive(assignment_id: int) -> dict[tuple[int, str], Derived]:
    """The events the records of one assignment amount to, keyed (technician, kind)."""
    a = db.session.get(Assignment, assignment_id)
    if a is None:
        return {}
    found: dict[tuple[int, str], tuple[float, datetime]] = {}
    record = db.session.get(WorkRecord, assignment_id)
    if record is not None:
        t = record.technician_id
        if record.first_checkin_at is not None and record.arrival in (Arrival.ON_TIME,
                                                                      Arrival.LATE):
            kind = "on_time" if record.arrival == Arrival.ON_TIME else "late"
            found[(t, kind)] = (1.0, record.first_checkin_at)
            found[(t, "kept")] = (1.0, record.first_checkin_at)
        elif record.no_show_at is not None and record.arrival == Arrival.NO_SHOW:
            found[(t, "no_show")] = (0.0, record.no_show_at)
        if record.approved_at is not None:
            found[(t, "completed")] = (1.0, record.approved_at)
            found[(t, "first_time" if record.revisits == 0 else "revisited")] = \
                (0.0, record.approved_at)
            if a.sla_response_minutes or a.sla_arrival_minutes or a.sla_completion_minutes:
                breached = db.session.scalar(select(exists().where(
                    SlaEvent.assignment_id == a.id, SlaEvent.state == "breach")))
                found[(t, "sla_missed" if breached else "sla_met")] = (0.0, record.approved_at)
    for b in db.session.scalars(select(Backout).where(Backout.assignment_id == a.id,
                                                      Backout.offboarded.is_(False))
                                .order_by(Backout.id)):
        kind = "late_backout" if b.hours_before_start < LATE_BACKOUT_HOURS else "backout"
        found.pop((b.technician_id, "backout"), None)
        found.pop((b.technician_id, "late_backout"), None)
        found[(b.technician_id, kind)] = (0.0, b.created_at)
    ratings = list(db.session.scalars(select(Rating).where(Rating.assignment_id == a.id)))
    excused: set[int] = set()
    for r in ratings:
        if r.direction == Direction.OF_TECHNICIAN and r.revealed_at is not None:
            found[(r.technician_id, "rated")] = (stars_value(r.overall), r.revealed_at)
        if r.direction == Direction.OF_FIRM and r.site_not_ready:
            excused.add(r.technician_id)
    struck = {(d.technician_id, d.kind) for d in db.session.scalars(
        select(Dispute).where(Dispute.assignment_id == a.id, Dispute.status == "upheld"))}
    out = {}
    for (tech, kind), (value, at) in found.items():
        component, base_value, weight = KINDS[kind]
        if kind != "rated":
            value = base_value
        status = EventStatus.COUNTED
        if (tech, kind) in struck:
            status = EventStatus.STRUCK
        elif tech in excused and kind in EXCUSABLE:
            status = EventStatus.EXCUSED
        out[(tech, kind)] = Derived(tech, a.firm_id, kind, value, weight, at, status.value)
    return out


def _contribution(kind: str, value: float, weight: float, growth: float, status: str,
                  sign: int, into: dict[str, float]) -> None:
    if status != EventStatus.COUNTED:
        return
    component = KINDS[kind][0]
    into[f"n_{kind}"] = into.get(f"n_{kind}", 0) + sign
    if kind == "rated":
        into["stars_sum"] = into.get("stars_sum", 0) + sign * round(1 + 4 * value)
    if component is not None:
        into[f"{component}_w"] = into.get(f"{component}_w", 0.0) + sign * weight * growth
        into[f"{component}_v"] = into.get(f"{component}_v", 0.0) + sign * weight * value * growth


def sync_assignment(assignment_id: int) -> set[int]:
    """Bring the assignment's stored events and its technicians' scorecards up to date;
    returns the technicians whose scorecard changed."""
    wanted = derive(assignment_id)
    stored = {(e.technician_id, e.kind): e for e in db.session.scalars(
        select(RateEvent).where(RateEvent.assignment_id == assignment_id))}
    deltas: dict[int, dict[str, float]] = {}
    anchors: dict[int, float] = {}
    for key, old in stored.items():
        new = wanted.get(key)
        if new is not None and (old.value, old.weight, old.occurred_at, old.status) == \
                (new.value, new.weight, new.occurred_at, new.status):
            continue
        _contribution(old.kind, old.value, old.weight, old.growth, old.status, -1,
                      deltas.setdefault(old.technician_id, {}))
        if new is None:
            db.session.delete(old)
            continue
        growth = growth_at(new.occurred_at)
        old.value, old.weight, old.occurred_at, old.status, old.growth = \
            new.value, new.weight, new.occurred_at, new.status, growth
        _contribution(new.kind, new.value, new.weight, growth, new.status, 1,
                      deltas.setdefault(new.technician_id, {}))
        anchors[new.technician_id] = max(anchors.get(new.technician_id, 0.0), growth)
    for key, new in wanted.items():
        if key in stored:
            continue
        growth = growth_at(new.occurred_at)
        db.session.add(RateEvent(technician_id=new.technician_id, firm_id=new.firm_id,
                                 assignment_id=assignment_id, kind=new.kind, value=new.value,
                                 weight=new.weight, growth=growth,
                                 occurred_at=new.occurred_at, status=new.status))
        _contribution(new.kind, new.value, new.weight, growth, new.status, 1,
                      deltas.setdefault(new.technician_id, {}))
        anchors[new.technician_id] = max(anchors.get(new.technician_id, 0.0), growth)
    db.session.flush()
    changed = set()
    for tech, delta in deltas.items():
        if delta or tech in anchors:
            apply(tech, delta, anchors.get(tech, 0.0))
            changed.add(tech)
    if changed:
        from .gates import scores_changed
        scores_changed(changed)
    return changed


def _greatest(a, b):
    return func.greatest(a, b) if db.engine.dialect.name == "postgresql" else func.max(a, b)


class _Row:
    """A scorecard's columns as values (a first row) or as SQL (the row after an update)."""

    def __init__(self, **values):
        self.__dict__.update(values)


_SUMS = [c.name for c in TechnicianScore.__table__.c
         if c.name not in ("technician_id", "reliability", "updated_at")]


def apply(technician_id: int, delta: dict[str, float], anchor: float) -> None:
    """Add `delta` to the technician's scorecard and score it again, in one statement: an
    insert of the first row, or an update adding to the stored sums (concurrent updates
    add up; none reads and writes back)."""
    means = means_mod.current()
    keys = tuple(sorted(k for k, v in delta.items() if v))
    first = {k: 0 for k in _SUMS} | {k: delta[k] for k in keys}
    first["growth"] = max(1.0, anchor or 0.0)
    params = {"tid": technician_id, "now": clock.now(), "anchor": first["growth"],
              "first_score": score(_Row(**first), means),
              **{f"d_{k}": delta[k] for k in keys}, **{f"m_{c}": m for c, m in means.items()}}
    db.session.execute(_upsert_statement(keys, bool(anchor)), params)


_UPSERTS: dict[tuple, object] = {}


def _upsert_statement(keys: tuple[str, ...], anchored: bool):
    """The upsert for one shape of delta, built once (it runs on every event; values,
    means included, are parameters)."""
    dialect_name = db.engine.dialect.name
    cache_key = (dialect_name, keys, anchored)
    if cache_key not in _UPSERTS:
        table = TechnicianScore.__table__
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(
            technician_id=bindparam("tid"), updated_at=bindparam("now"),
            growth=bindparam("anchor"), reliability=bindparam("first_score"),
            **{k: bindparam(f"d_{k}") for k in keys})
        new = {k: table.c[k] + bindparam(f"d_{k}") if k in keys else table.c[k]
               for k in _SUMS}
        if anchored:
            new["growth"] = _greatest(table.c.growth, bindparam("anchor"))
        means = {c: bindparam(f"m_{c}") for c in COMPONENT_SHARES}
        set_ = {k: new[k] for k in (*keys, "growth")}
        set_.update(reliability=score_sql(_Row(**new), means), updated_at=bindparam("now"))
        _UPSERTS[cache_key] = stmt.on_conflict_do_update(index_elements=["technician_id"],
                                                         set_=set_)
    return _UPSERTS[cache_key]


def mark(assignment_id: int) -> None:
    """Sync this assignment's events before the transaction commits."""
    db.session.info.setdefault(_DIRTY, set()).add(assignment_id)


def flush_marked(session: Session | None = None) -> None:
    session = session or db.session
    while session.info.get(_DIRTY):
        pending = sorted(session.info.pop(_DIRTY))
        for assignment_id in pending:
            sync_assignment(assignment_id)


@event.listens_for(Session, "before_commit")
def _sync_before_commit(session: Session) -> None:
    if session.info.get(_DIRTY):
        flush_marked(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction) -> None:
    if transaction.parent is None and not session.in_transaction():
        session.info.pop(_DIRTY, None)


def no_shows_to_collect(since: datetime, limit: int = 5000) -> list[int]:
    """No-shows manage's sweep marked (set-based, unannounced) that have no event yet."""
    have = exists().where(RateEvent.assignment_id == WorkRecord.assignment_id,
                          RateEvent.kind == "no_show")
    return list(db.session.scalars(select(WorkRecord.assignment_id).where(
        WorkRecord.no_show_at >= since, WorkRecord.arrival == Arrival.NO_SHOW, ~have)
        .order_by(WorkRecord.assignment_id).limit(limit)))


def collect_no_shows(since: datetime) -> int:
    ids = no_shows_to_collect(since)
    for assignment_id in ids:
        sync_assignment(assignment_id)
    return len(ids)


def rebuild_events(assignment_ids: list[int]) -> None:
    """Derive the assignments' events afresh without touching scorecards (the recompute
    rebuilds those from the events)."""
    if not assignment_ids:
        return
    db.session.execute(delete(RateEvent).where(RateEvent.assignment_id.in_(assignment_ids)))
    rows = []
    for assignment_id in assignment_ids:
        for new in derive(assignment_id).values():
            rows.append({"technician_id": new.technician_id, "firm_id": new.firm_id,
                         "assignment_id": assignment_id, "kind": new.kind, "value": new.value,
                         "weight": new.weight, "growth": growth_at(new.occurred_at),
                         "occurred_at": new.occurred_at, "status": new.status})
    if rows:
        db.session.execute(insert(RateEvent), rows)
