"""Observed events: derived per assignment from what earlier stages recorded, and applied
to the technicians' scorecards incrementally, in the transaction that changed them.

What counts is read from manage's work record (arrival as manage classified it, no-show,
revisits, approval: the same fields its KPIs count), engage's backouts (not the
compliance sweep's offboarding; within 24 hours of the start is a late one), manage's
SLA events (a breached clock), and rate's own revealed ratings (`derive`, one read).
`sync_assignment` derives an assignment's events afresh, compares them with those stored
and adds the difference to each technician's scorecard, so running it twice changes
nothing.

Lifecycle moves mark their assignment; the marks are synced just before the
transaction commits (the stage that moved it writes its records after the move).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, event, exists, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..core import clock
from ..core.statements import built_once
from ..core.transactions import before_commit
from ..extensions import db
from ..manage.models import Arrival, WorkRecord
from . import means as means_mod
from .derive import Derived, derive, facts
from .models import EventStatus, RateEvent, TechnicianScore
from .reliability import COMPONENT_SHARES, KINDS, MIN_COMPLETED, growth_at, score, score_sql

_DIRTY = "rate_dirty_assignments"


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
    returns the technicians whose scorecard changed. One read (`derive.facts`); writes
    only for what differs: one insert of the new events, one upsert per technician."""
    known = facts(assignment_id)
    wanted = derive(assignment_id, known)
    stored = known.stored
    deltas: dict[int, dict[str, float]] = {}
    anchors: dict[int, float] = {}
    gone: list[int] = []
    for key, old in stored.items():
        new = wanted.get(key)
        if new is not None and (old.value, old.weight, old.occurred_at, old.status) == \
                (new.value, new.weight, new.occurred_at, new.status):
            continue
        _contribution(old.kind, old.value, old.weight, old.growth, old.status, -1,
                      deltas.setdefault(old.technician_id, {}))
        if new is None:
            gone.append(old.id)
            continue
        growth = growth_at(new.occurred_at)
        db.session.execute(update(RateEvent).where(RateEvent.id == old.id).values(
            value=new.value, weight=new.weight, occurred_at=new.occurred_at,
            status=new.status, growth=growth))
        _contribution(new.kind, new.value, new.weight, growth, new.status, 1,
                      deltas.setdefault(new.technician_id, {}))
        anchors[new.technician_id] = max(anchors.get(new.technician_id, 0.0), growth)
    if gone:
        db.session.execute(delete(RateEvent).where(RateEvent.id.in_(gone)))
    rows = []
    for key, new in wanted.items():
        if key in stored:
            continue
        growth = growth_at(new.occurred_at)
        rows.append(_row(assignment_id, new, growth))
        _contribution(new.kind, new.value, new.weight, growth, new.status, 1,
                      deltas.setdefault(new.technician_id, {}))
        anchors[new.technician_id] = max(anchors.get(new.technician_id, 0.0), growth)
    if rows:
        db.session.execute(insert(RateEvent), rows)
    changed = set()
    for tech, delta in deltas.items():
        if delta or tech in anchors:
            apply(tech, delta, anchors.get(tech, 0.0))
            changed.add(tech)
    if changed & known.gated:      # only those in pools with minimum scores
        from .gates import scores_changed
        scores_changed(changed & known.gated)
    return changed


def _row(assignment_id: int, new: Derived, growth: float) -> dict:
    return {"technician_id": new.technician_id, "firm_id": new.firm_id,
            "assignment_id": assignment_id, "kind": new.kind, "value": new.value,
            "weight": new.weight, "growth": growth, "occurred_at": new.occurred_at,
            "status": new.status}


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
    add up; none reads and writes back). It scores with the platform means this process
    last read, on condition that they are still those stored: one round trip, and one
    more read and a retry only after the means were refreshed."""
    keys = tuple(sorted(k for k, v in delta.items() if v))
    first = {k: 0 for k in _SUMS} | {k: delta[k] for k in keys}
    first["growth"] = max(1.0, anchor or 0.0)
    params = {"tid": technician_id, "now": clock.now(), "anchor": first["growth"],
              **{f"d_{k}": delta[k] for k in keys}}
    statement = _upsert_statement(keys, bool(anchor))
    means, stored = means_mod.cached()
    for _ in range(3):
        if first["n_completed"] >= MIN_COMPLETED:     # a first row scored at once (rare)
            means, stored = means_mod.reload()
        params.update({f"m_{c}": m for c, m in means.items()}, m_count=stored,
                      first_score=score(_Row(**first), means))
        if db.session.execute(statement, params).rowcount:
            return
        means, stored = means_mod.reload()
    raise RuntimeError("the platform means kept changing under a scorecard update")


def _upsert_statement(keys: tuple[str, ...], anchored: bool):
    """The upsert for one shape of delta, built once (it runs on every event; values,
    means included, are parameters)."""
    dialect_name = db.engine.dialect.name

    def build():
        table = TechnicianScore.__table__
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        # The sums a delta leaves alone start at 0, written into the statement: as bound
        # values they took it past the 50 parameters the driver parses once and keeps.
        stmt = dialect.insert(table).values(
            technician_id=bindparam("tid"), updated_at=bindparam("now"),
            growth=bindparam("anchor"), reliability=bindparam("first_score"),
            **{k: bindparam(f"d_{k}") if k in keys else literal_column("0")
               for k in _SUMS if k != "growth"})
        new = {k: table.c[k] + bindparam(f"d_{k}") if k in keys else table.c[k]
               for k in _SUMS}
        if anchored:
            new["growth"] = _greatest(table.c.growth, bindparam("anchor"))
        means = {c: bindparam(f"m_{c}") for c in COMPONENT_SHARES}
        set_ = {k: new[k] for k in (*keys, "growth")}
        set_.update(reliability=score_sql(_Row(**new), means), updated_at=bindparam("now"))
        return stmt.on_conflict_do_update(
            index_elements=["technician_id"], set_=set_, where=means_mod.unchanged()) \
            .execution_options(preserve_rowcount=True)
    return built_once(("rate.score_upsert", dialect_name, keys, anchored), build)


def mark(assignment_id: int) -> None:
    """Sync this assignment's events before the transaction commits."""
    db.session.info.setdefault(_DIRTY, set()).add(assignment_id)


def flush_marked(session: Session | None = None) -> None:
    session = session or db.session
    while session.info.get(_DIRTY):
        pending = sorted(session.info.pop(_DIRTY))
        for assignment_id in pending:
            sync_assignment(assignment_id)


def _sync_before_commit(session: Session) -> None:
    if session.info.get(_DIRTY):
        flush_marked(session)


before_commit(_sync_before_commit)


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
    rows = [_row(assignment_id, new, growth_at(new.occurred_at))
            for assignment_id in assignment_ids for new in derive(assignment_id).values()]
    if rows:
        db.session.execute(insert(RateEvent), rows)
