"""Rebuild every scorecard from the stored events (and, asked to, the events from the
records): what `flask rate recompute` and the daily task run.

Technicians are done in id ranges, each range one INSERT ... SELECT ... GROUP BY over
its events and one UPDATE that scores it with reliability's formula as SQL; the
platform means are refreshed first, so every score shrinks toward the same means.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, Integer, case, cast, delete, func, insert, literal, select, union

from ..core import audit, clock
from ..core.actions import Action
from ..core.progress import Progress, report
from ..engage.models import Backout
from ..extensions import db
from ..manage.models import WorkRecord
from . import events, firm_scores, means as means_mod
from .models import COUNT_KINDS, Dispute, EventStatus, RateEvent, Rating, TechnicianScore
from .reliability import COMPONENT_SHARES, KINDS, score_sql

CHUNK = 100_000     # technicians per statement (a range of ids)


@dataclass
class Result:
    technicians: int
    firms: int
    events_rebuilt: int
    means: dict[str, float]


def _aggregate(lo: int, hi: int, means: dict[str, float]):
    """select(technician_id, <scorecard columns>, reliability) of the technicians in
    [lo, hi): one pass over their events, scored by reliability's formula as SQL."""
    e = RateEvent.__table__.c
    counted = e.status == EventStatus.COUNTED.value
    columns = [e.technician_id.label("technician_id")]
    for component in COMPONENT_SHARES:
        hit = counted & e.kind.in_([k for k, (c, _, _) in KINDS.items() if c == component])
        columns.append(func.sum(case((hit, e.weight * e.growth), else_=0.0))
                       .label(f"{component}_w"))
        columns.append(func.sum(case((hit, e.weight * e.value * e.growth), else_=0.0))
                       .label(f"{component}_v"))
    top = func.max(e.growth)
    columns.append(case((top > 1.0, top), else_=1.0).label("growth"))
    for kind in COUNT_KINDS:
        columns.append(func.sum(case((counted & (e.kind == kind), 1), else_=0))
                       .label(f"n_{kind}"))
    stars = cast(func.round(1 + 4 * e.value), Integer)
    columns.append(func.sum(case((counted & (e.kind == "rated"), stars), else_=0))
                   .label("stars_sum"))
    card = (select(*columns).where(e.technician_id >= lo, e.technician_id < hi)
            .group_by(e.technician_id).subquery("card"))
    return select(*card.c, cast(score_sql(card.c, means), Float).label("reliability"),
                  literal(clock.now(), TechnicianScore.updated_at.type).label("updated_at"))


def recompute_range(lo: int, hi: int, means: dict[str, float]) -> int:
    """Rebuild the scorecards of technicians with ids in [lo, hi), scored as written."""
    table = TechnicianScore.__table__
    db.session.execute(delete(table).where(table.c.technician_id >= lo,
                                           table.c.technician_id < hi))
    source = _aggregate(lo, hi, means)
    names = [c.name for c in source.selected_columns]
    db.session.execute(insert(table).from_select(names, source))
    return db.session.scalar(select(func.count()).select_from(table).where(
        table.c.technician_id >= lo, table.c.technician_id < hi)) or 0


def _assignments_with_records() -> list[int]:
    ids = union(select(WorkRecord.assignment_id), select(Backout.assignment_id),
                select(Rating.assignment_id), select(Dispute.assignment_id)).subquery()
    return list(db.session.scalars(select(ids.c[0]).order_by(ids.c[0])))


def recompute(*, rederive: bool = False, refresh_means: bool = True,
              progress: Progress | None = None, chunk: int = CHUNK, actor=None) -> Result:
    """Rebuild every technician's and firm's scorecard; with `rederive`, derive every
    event from the records first."""
    rebuilt = 0
    if rederive:
        ids = _assignments_with_records()
        for start in range(0, len(ids), 500):
            events.rebuild_events(ids[start:start + 500])
            report(progress, min(start + 500, len(ids)), len(ids), "events")
        rebuilt = len(ids)
    means = means_mod.refresh() if refresh_means else means_mod.current()
    lo_hi = db.session.execute(select(func.min(RateEvent.technician_id),
                                      func.max(RateEvent.technician_id))).one()
    db.session.execute(delete(TechnicianScore.__table__))
    done = 0
    if lo_hi[0] is not None:
        lo, top = lo_hi[0], lo_hi[1] + 1
        total = top - lo
        for start in range(lo, top, chunk):
            done += recompute_range(start, min(start + chunk, top), means)
            report(progress, min(start + chunk, top) - lo, total, "scorecards")
    firms = firm_scores.recompute_firms()
    audit.record(Action.SCORES_RECOMPUTED, actor=actor, subject_type="system",
                 after={"technicians": done, "firms": firms, "events_rebuilt": rebuilt})
    return Result(done, firms, rebuilt, means)
