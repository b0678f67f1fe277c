"""KPI rollups: what the KPI page reads instead of scanning every event of the period.

Each assignment's counted rows (`kpis` defines them: one per arrival, approval, take
or backout, fill, SLA target) are kept as facts, with the firm, the technician and the
site they count for; their counts and sums per firm, source and hour are kept beside
them. Whatever changes an assignment's rows (a check-in, an approval, a backout, a
cancellation, a sweep's no-show or breach: a row written, or an audit row about the
assignment) marks the assignment; before the transaction
commits, its facts are computed again by the KPI definitions and the difference is
added to the hourly sums, in that same transaction. `flask manage rollups` rebuilds
both from scratch.

Reading a firm's 12 weeks takes the hourly sums of the hours inside a week, and the
facts of the hours a week boundary cuts (at most one per boundary): exact for any end
instant. A technician's or a site's figures read their facts (a few hundred rows).
Hours are numbered from the epoch; hour h holds the facts at instants in (h-1, h].
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import has_app_context
from sqlalchemy import (Float, ForeignKey, Index, Integer, String, and_, bindparam, cast,
                        delete, event, func, literal, or_, select, text, union_all)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core import audit
from ..core.audit import AuditEntry
from ..core.statements import built_once
from ..core.transactions import before_commit, per_transaction
from ..core.types import UTCDateTime
from ..engage.models import Backout, Offer
from ..extensions import db
from ..find.models import Assignment
from . import kpis
from .access import HELD
from .models import SlaEvent, WorkRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
WEEK_US = 7 * 24 * HOUR_US
PENDING = "manage_kpi_touched"
# What a change to these rows can move: the assignment's counted rows.
# (Visits count only once approved, and approving is an audited move of the assignment.)
WATCHED = (Assignment, WorkRecord, Backout, Offer, SlaEvent)
ASSIGNMENTS = Assignment.__tablename__


class KpiFact(db.Model):
    """One counted row of a KPI source for an assignment (s1, s2: the source's scores)."""
    __tablename__ = "kpi_facts"
    __table_args__ = (Index("ix_kpi_facts_firm_hour", "firm_id", "hour"),
                      Index("ix_kpi_facts_firm_technician_hour", "firm_id", "technician_id",
                            "hour"),
                      Index("ix_kpi_facts_firm_site_hour", "firm_id", "site", "hour"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    firm_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    technician_id: Mapped[int | None] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    hour: Mapped[int] = mapped_column(Integer)
    s1: Mapped[float] = mapped_column(Float)
    s2: Mapped[float] = mapped_column(Float)


class KpiHourly(db.Model):
    """A firm's facts of one source in one hour: how many, and their scores' sums."""
    __tablename__ = "kpi_hourly"

    firm_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    s1: Mapped[float] = mapped_column(Float)
    s2: Mapped[float] = mapped_column(Float)


def _us(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def hour_of(at: datetime) -> int:
    """The hour holding `at`: (h-1, h] in hours since the epoch."""
    return -(-_us(at) // HOUR_US)


# --- keeping them --------------------------------------------------------------------

def touch(assignment_ids) -> None:
    """These assignments' counted rows may have changed: recount them before commit."""
    db.session.info.setdefault(PENDING, set()).update(
        i for i in assignment_ids if i is not None)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, context) -> None:
    """Rows written as objects."""
    touched = session.info.setdefault(PENDING, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Assignment):
            touched.add(obj.id)
        elif isinstance(obj, WATCHED):
            touched.add(obj.assignment_id)


AUDIT_TABLE = AuditEntry.__table__


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    """An assignment's audited change (a lifecycle move, a reschedule, an edit: each one
    UPDATE, then its audit row; a sweep's change of many, `audit.record_many`)."""
    if state.is_insert and getattr(state.statement, "table", None) is AUDIT_TABLE \
            and isinstance(state.parameters, list):
        state.session.info.setdefault(PENDING, set()).update(
            p.get("subject_id") for p in state.parameters
            if p.get("subject_type") == ASSIGNMENTS)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not has_app_context() or session is not db.session():
        return
    audit.write_pending(session)      # its rows name the assignments it changed
    if session.info.get(PENDING):
        apply_pending()


before_commit(_before_commit)


per_transaction(PENDING)


def apply_pending() -> None:
    """Recount what this transaction touched (and what recounting touches in turn)."""
    session = db.session()
    while True:
        session.flush()
        touched = session.info.pop(PENDING, set())
        touched.discard(None)
        if not touched:
            return
        refresh(sorted(touched))


def _facts_statement():
    """The KPI definitions' counted rows of the assignments bound as `ids`: built once
    per dialect (the definitions are fixed), not for every recount."""
    return built_once(("rollups.facts", db.engine.dialect.name), _build_facts_statement)


def _build_facts_statement():
    scope = kpis.ForAssignments(bindparam("ids", expanding=True))
    parts = []
    for name, group in kpis.sources().items():
        rows = group[0].source(scope).subquery()
        scores = [rows.c[k.column] for k in group] + [literal(0.0)]
        parts.append(select(literal(name).label("source"), rows.c.assignment_id,
                            rows.c.at, rows.c.firm_id, rows.c.technician_id, rows.c.site,
                            cast(scores[0], Float).label("s1"),
                            cast(scores[1], Float).label("s2")))
    return union_all(*parts)


def facts_for(ids) -> list[dict]:
    """The counted rows of these assignments, by the KPI definitions (one statement)."""
    return [{"assignment_id": row.assignment_id, "firm_id": row.firm_id,
             "source": row.source, "technician_id": row.technician_id, "site": row.site,
             "at": row.at, "hour": hour_of(row.at), "s1": float(row.s1 or 0.0),
             "s2": float(row.s2 or 0.0)}
            for row in db.session.execute(_facts_statement(), {"ids": list(ids)})]


def refresh(ids: list[int]) -> None:
    """Replace these assignments' facts and move the hourly sums by the difference."""
    for lo in range(0, len(ids), 500):
        chunk = ids[lo:lo + 500]
        # Assignments in id order: two recounts of one assignment cannot interleave (the
        # rows this transaction holds already are not asked for again).
        held = db.session.info.get(HELD, ())
        unheld = [i for i in chunk if i not in held]
        if unheld:
            db.session.execute(select(Assignment.id).where(Assignment.id.in_(unheld))
                               .order_by(Assignment.id).with_for_update())
        if db.engine.dialect.name == "postgresql":
            db.session.execute(_refresh_statement(), {"ids": chunk})
            continue
        old = db.session.execute(
            delete(KpiFact).where(KpiFact.assignment_id.in_(chunk))
            .returning(KpiFact.firm_id, KpiFact.source, KpiFact.hour, KpiFact.s1, KpiFact.s2)
            .execution_options(synchronize_session=False)).all()
        new = facts_for(chunk)
        if new:
            db.session.execute(KpiFact.__table__.insert(), new)
        delta: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0])
        for firm_id, source, hour, s1, s2 in old:
            d = delta[(firm_id, source, hour)]
            d[0], d[1], d[2] = d[0] - 1, d[1] - s1, d[2] - s2
        for f in new:
            d = delta[(f["firm_id"], f["source"], f["hour"])]
            d[0], d[1], d[2] = d[0] + 1, d[1] + f["s1"], d[2] + f["s2"]
        _add(sorted((k, v) for k, v in delta.items() if v != [0, 0.0, 0.0]))


def _refresh_statement():
    """PostgreSQL: the same recount as one statement (built once): the old facts deleted,
    the new ones computed and inserted, and the hourly sums moved by the difference, in
    key order."""
    return built_once(("rollups.refresh",), _build_refresh_statement)


def _build_refresh_statement():
    facts, hourly = KpiFact.__table__, KpiHourly.__table__
    ids = bindparam("ids", expanding=True)
    old = (delete(facts).where(facts.c.assignment_id.in_(ids))
           .returning(facts.c.firm_id, facts.c.source, facts.c.hour, facts.c.s1, facts.c.s2)
           .cte("old_facts"))
    found = _facts_statement().subquery()
    # hour_of in SQL: the epoch is numeric (exact), the hour holds (h-1, h].
    new = select(found.c.assignment_id, found.c.firm_id, found.c.source,
                 found.c.technician_id, found.c.site, found.c.at,
                 cast(func.ceil(func.extract("epoch", found.c.at) / 3600), Integer)
                 .label("hour"),
                 func.coalesce(found.c.s1, 0.0).label("s1"),
                 func.coalesce(found.c.s2, 0.0).label("s2")).cte("new_facts")
    columns = ["assignment_id", "firm_id", "source", "technician_id", "site", "at", "hour",
               "s1", "s2"]
    inserted = facts.insert().from_select(columns, select(*(new.c[c] for c in columns))) \
        .cte("inserted_facts")
    moves = union_all(
        select(old.c.firm_id, old.c.source, old.c.hour, literal(-1).label("n"),
               (-old.c.s1).label("s1"), (-old.c.s2).label("s2")),
        select(new.c.firm_id, new.c.source, new.c.hour, literal(1).label("n"),
               new.c.s1, new.c.s2)).subquery()
    n, s1, s2 = func.sum(moves.c.n), func.sum(moves.c.s1), func.sum(moves.c.s2)
    delta = (select(moves.c.firm_id, moves.c.hour, moves.c.source, n, s1, s2)
             .group_by(moves.c.firm_id, moves.c.hour, moves.c.source)
             .having(or_(n != 0, s1 != 0, s2 != 0))
             .order_by(moves.c.firm_id, moves.c.hour, moves.c.source))
    stmt = postgresql.insert(hourly).from_select(
        ["firm_id", "hour", "source", "n", "s1", "s2"], delta)
    stmt = stmt.on_conflict_do_update(
        index_elements=["firm_id", "hour", "source"],
        set_={"n": hourly.c.n + stmt.excluded.n, "s1": hourly.c.s1 + stmt.excluded.s1,
              "s2": hourly.c.s2 + stmt.excluded.s2}).add_cte(inserted)
    return stmt


def _add(rows: list[tuple[tuple, list]]) -> None:
    """Add to the hourly sums (rows in key order: concurrent adds lock alike); the rows
    sent together to one statement, compiled once."""
    if not rows:
        return
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = KpiHourly.__table__
    stmt = dialect.insert(table)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["firm_id", "hour", "source"],
        set_={"n": table.c.n + stmt.excluded.n, "s1": table.c.s1 + stmt.excluded.s1,
              "s2": table.c.s2 + stmt.excluded.s2}), [
        {"firm_id": f, "source": s, "hour": h, "n": n, "s1": s1, "s2": s2}
        for (f, s, h), (n, s1, s2) in rows])


def rebuild(firm_id: int | None = None, chunk: int = 5000, progress=None) -> int:
    """Facts and hourly sums from scratch (of one firm, or all); returns the facts."""
    where = [] if firm_id is None else [KpiFact.firm_id == firm_id]
    db.session.execute(delete(KpiFact).where(*where)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(KpiHourly).where(
        *([] if firm_id is None else [KpiHourly.firm_id == firm_id]))
        .execution_options(synchronize_session=False))
    ids = db.session.scalars(select(Assignment.id).where(
        *([] if firm_id is None else [Assignment.firm_id == firm_id]))
        .order_by(Assignment.id)).all()
    total = 0
    for lo in range(0, len(ids), chunk):
        new = facts_for(ids[lo:lo + chunk])
        if new:
            db.session.execute(KpiFact.__table__.insert(), new)
        total += len(new)
        if progress:
            progress(min(lo + chunk, len(ids)), len(ids))
    db.session.execute(text(
        "INSERT INTO kpi_hourly (firm_id, source, hour, n, s1, s2) "
        "SELECT firm_id, source, hour, count(*), sum(s1), sum(s2) FROM kpi_facts "
        + ("" if firm_id is None else "WHERE firm_id = :firm ")
        + "GROUP BY firm_id, source, hour"), {"firm": firm_id})
    db.session.info.pop(PENDING, None)
    return total


# --- reading them --------------------------------------------------------------------

_HOURLY = text("""
    SELECT source, (CAST(:end_us AS BIGINT) - hour * CAST(:hour_us AS BIGINT))
                   / CAST(:week_us AS BIGINT) AS week, sum(n), sum(s1), sum(s2)
    FROM kpi_hourly
    WHERE firm_id = :firm AND hour > :first AND hour <= :last
      AND (CAST(:end_us AS BIGINT) - hour * CAST(:hour_us AS BIGINT))
          % CAST(:week_us AS BIGINT) <= CAST(:whole AS BIGINT)
    GROUP BY source, week""")


def _cut_hours(scope: kpis.Scope) -> dict[int, tuple[int, datetime]]:
    """The hours a week boundary falls strictly inside (none when the end is on the hour):
    hour -> (the week ending at the boundary, the boundary)."""
    out = {}
    for k in range(scope.weeks + 1):
        b = _us(scope.end) - k * WEEK_US
        if b % HOUR_US:
            out[-(-b // HOUR_US)] = (k, scope.end - timedelta(days=7 * k))
    return out


def _fact_weeks(facts, scope: kpis.Scope, sums: dict) -> None:
    week = timedelta(days=7)
    for source, at, s1, s2 in facts:
        if scope.start < at <= scope.end:
            w = sums[source][(scope.end - at) // week]
            w[0], w[1], w[2] = w[0] + 1, w[1] + s1, w[2] + s2


def weekly_sums(scope: kpis.Scope) -> dict[str, dict[int, list]]:
    """Per source, week -> [count, sum of s1, sum of s2]."""
    apply_pending()
    sums: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0, 0.0]))
    if scope.technician_id or scope.site:
        where = [KpiFact.firm_id == scope.firm_id, KpiFact.hour >= hour_of(scope.start),
                 KpiFact.hour <= hour_of(scope.end)]
        if scope.technician_id:
            where.append(KpiFact.technician_id == scope.technician_id)
        if scope.site:
            where.append(KpiFact.site == scope.site)
        _fact_weeks(db.session.execute(select(KpiFact.source, KpiFact.at, KpiFact.s1,
                                              KpiFact.s2).where(*where)), scope, sums)
        return sums
    end_us = _us(scope.end)
    for source, week, n, s1, s2 in db.session.execute(_HOURLY, {
            "end_us": end_us, "hour_us": HOUR_US, "week_us": WEEK_US,
            "whole": WEEK_US - HOUR_US, "firm": scope.firm_id,
            "first": (end_us - scope.weeks * WEEK_US) // HOUR_US,
            "last": end_us // HOUR_US}):
        w = sums[source][int(week)]
        w[0], w[1], w[2] = w[0] + int(n), w[1] + float(s1), w[2] + float(s2)
    cut = _cut_hours(scope)
    if cut:     # the facts of each cut hour, summed on either side of its boundary
        before = or_(*(and_(KpiFact.hour == h, KpiFact.at <= b)
                       for h, (_, b) in cut.items())).label("before")
        for source, hour, early, n, s1, s2 in db.session.execute(
                select(KpiFact.source, KpiFact.hour, before, func.count(), func.sum(KpiFact.s1),
                       func.sum(KpiFact.s2))
                .where(KpiFact.firm_id == scope.firm_id, KpiFact.hour.in_(list(cut)))
                .group_by(KpiFact.source, KpiFact.hour, before)):
            week = cut[hour][0] - (0 if early else 1)
            if 0 <= week < scope.weeks:
                w = sums[source][week]
                w[0], w[1], w[2] = w[0] + int(n), w[1] + float(s1), w[2] + float(s2)
    return sums


def dashboard(scope: kpis.Scope) -> list[kpis.Figure]:
    """Every KPI of the scope, as `kpis.dashboard` computes them, from the rollups."""
    sums = weekly_sums(scope)
    figures = {}
    for name, group in kpis.sources().items():
        for position, kpi in enumerate(group, 1):
            figures[kpi.key] = kpis.figure_of(kpi, scope, {
                week: (v[position], v[0]) for week, v in sums[name].items()})
    return [figures[kpi.key] for kpi in kpis.KPIS]
