"""Matching technicians to an assignment (and assignments to a technician: the feed).

Who qualifies: an active technician with a location, not blocked by the firm,
within their own travel radius *and* the assignment's radius of the site, with
every required skill at its minimum level, compliant with the requirement set
on the assignment's local date (verify.compliance), and not booked (assigned or
in progress) in an overlapping window.

Score (lower is better): the haversine distance in km from the site. Ties go to
the lower technician id. The rate stage adds reliability and rating terms here.

Speed: a search reads the match index (match_index.py) over discs of growing
radius (geo.cover), each step reading only ranges not read before, driven by
the rarest required skill with the others checked by primary-key lookups. It
stops as soon as k qualified technicians are nearer than the radius covered:
nobody unread can beat them. Blocks, bookings and compliance are checked in one
statement for the nearest candidates only, in batches.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, any_, bindparam, func, select, union
from sqlalchemy.dialects import postgresql

from ..accounts.models import TechnicianProfile, TechnicianSkill
from .. import clock
from ..extensions import db
from ..verify import compliance
from .geo import (EARTH_RADIUS_KM, cell_of, haversine_km, haversine_sql, merge,
                  ranges_by_distance)
from .match_index import ANY_SKILL, matchable, rebuild_index, reindex_technician, skill_count
from .models import BOOKED_STATES, Assignment, AssignmentStatus, FirmBlock

__all__ = ["EARTH_RADIUS_KM", "Match", "MatchQuery", "cell_of", "excluded_ids", "feed_for",
           "haversine_km", "haversine_sql", "match_brute_force", "match_technicians",
           "rebuild_index", "reindex_technician", "search"]

_FIRST_STEP_KM = 1.0


def _next_step(step: float, covered: float, found: int, k: int) -> float:
    """The radius to read to next: at least double, and as far as the density seen so
    far says k technicians need (area grows with the square of the radius)."""
    want = covered * math.sqrt(1.5 * k / max(found, 1))
    return max(step * 2, covered, min(want, step * 8))


@dataclass
class Match:
    technician_id: int
    distance_km: float
    skills_matched: int
    skills_required: int
    score: float

    @property
    def explanation(self) -> str:
        return (f"{self.distance_km:.1f} km, {self.skills_matched} of "
                f"{self.skills_required} skills")


@dataclass
class MatchQuery:
    """What matching needs from an assignment, as plain values."""
    lat: float
    lon: float
    radius_km: float
    skills: dict[int, int]          # skill id -> minimum level
    firm_id: int | None = None
    requirement_set_id: int | None = None
    on: date | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    assignment_id: int | None = None

    @classmethod
    def of(cls, assignment: Assignment) -> "MatchQuery":
        tz = ZoneInfo(assignment.timezone or "UTC")
        return cls(lat=assignment.lat, lon=assignment.lon, radius_km=assignment.radius_km,
                   skills={s.skill_id: s.min_level for s in assignment.skills},
                   firm_id=assignment.firm_id, requirement_set_id=assignment.requirement_set_id,
                   on=assignment.starts_at.astimezone(tz).date() if assignment.starts_at else None,
                   starts_at=assignment.starts_at, ends_at=assignment.ends_at,
                   assignment_id=assignment.id)


# --- filters shared by the engine, the brute-force reference and the feed -------

def _among(dialect: str):
    """`column is one of the ids` for a fixed-shape statement: the ids travel as one
    parameter (a PostgreSQL array, a JSON list on SQLite), so nothing is re-rendered."""
    if dialect == "postgresql":
        ids = bindparam("ids", type_=postgresql.ARRAY(Integer))
        return lambda column: column == any_(ids)
    each = func.json_each(bindparam("ids", type_=String)).table_valued("value")
    return lambda column: column.in_(select(each.c.value))


@lru_cache(maxsize=None)
def _exclusion_stmt(dialect: str, by_firm: bool, by_window: bool, by_set: bool,
                    skip_assignment: bool):
    """One statement for every exclusion, compiled once per shape."""
    among = _among(dialect)
    parts = []
    if by_firm:
        parts.append(select(FirmBlock.technician_id).where(
            FirmBlock.firm_id == bindparam("firm_id"), among(FirmBlock.technician_id)))
    if by_window:
        booked = select(Assignment.assignee_id).where(
            among(Assignment.assignee_id), Assignment.status.in_(BOOKED_STATES),
            Assignment.starts_at < bindparam("ends_at"),
            Assignment.ends_at > bindparam("starts_at"))
        if skip_assignment:
            booked = booked.where(Assignment.id != bindparam("assignment_id"))
        parts.append(booked)
    if by_set:
        parts.append(compliance.noncompliant_select(among))
    return parts[0] if len(parts) == 1 else union(*parts)


def excluded_ids(query: MatchQuery, ids: Sequence[int]) -> set[int]:
    """Of `ids`, those blocked by the firm, booked in an overlapping window or non-compliant."""
    by_window = query.starts_at is not None and query.ends_at is not None
    shape = (query.firm_id is not None, by_window, query.requirement_set_id is not None,
             by_window and query.assignment_id is not None)
    if not ids or not any(shape):
        return set()
    conn = db.session.connection()
    dialect = conn.dialect.name
    ids = [int(i) for i in ids]
    params = {"ids": ids if dialect == "postgresql" else json.dumps(ids),
              "firm_id": query.firm_id, "starts_at": query.starts_at,
              "ends_at": query.ends_at, "assignment_id": query.assignment_id,
              "requirement_set_id": query.requirement_set_id, "on": query.on or clock.today()}
    return set(conn.execute(_exclusion_stmt(dialect, *shape), params).scalars())


def _rank(query: MatchQuery, found: dict[int, float]) -> list[Match]:
    n = len(query.skills)
    return sorted((Match(tid, d, n, n, d) for tid, d in found.items()),
                  key=lambda m: (m.score, m.technician_id))


# --- the engine --------------------------------------------------------------------

class _IndexReader:
    """Reads the match index over lists of cell ranges for one skill requirement.

    Driven by the rarest required skill; the others are checked by primary-key
    lookups. Every value inlined is an int we computed, which spares building
    and compiling an expression per query (the hot path). On PostgreSQL the
    ranges travel as two arrays, so the text is constant and the plan reused.
    """

    def __init__(self, conn, skills: dict[int, int]):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        order = sorted(skills, key=lambda sid: (skill_count(sid), sid))
        first, level = (order[0], skills[order[0]]) if order else (ANY_SKILL, 0)
        sql = ("SELECT m.technician_id, m.lat, m.lon, m.travel_radius_km FROM match_index m "
               f"WHERE m.skill_id = {int(first)} AND m.level >= {int(level)}")
        for sid in order[1:]:
            sql += (" AND EXISTS (SELECT 1 FROM match_index o WHERE o.skill_id = "
                    f"{int(sid)} AND o.cell = m.cell AND o.technician_id = m.technician_id "
                    f"AND o.level >= {int(skills[sid])})")
        if self.postgres:
            # One index range scan per range (OFFSET 0 keeps the planner from
            # flattening the lateral subquery into one scan of the whole skill).
            sql = ("SELECT t.* FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS r(lo, hi) "
                   f"CROSS JOIN LATERAL ({sql} AND m.cell BETWEEN r.lo AND r.hi OFFSET 0) t")
        self.sql = sql

    def rows(self, ranges: list[tuple[int, int]]):
        ranges = merge(ranges)
        cursor = self.conn.connection.cursor()   # the DB-API cursor: rows as plain tuples
        try:
            if self.postgres:
                cursor.execute(self.sql, {"lo": [lo for lo, _ in ranges],
                                          "hi": [hi for _, hi in ranges]})
            else:
                where = " OR ".join(f"m.cell BETWEEN {lo} AND {hi}" for lo, hi in ranges)
                cursor.execute(f"{self.sql} AND ({where})")
            return cursor.fetchall()
        finally:
            cursor.close()


def _settled(ok: list[tuple[float, int]], unchecked: list[tuple[float, int]],
             covered: float, k: int) -> bool:
    """k qualified technicians are nearer than anyone not yet checked or not yet read.

    Unread technicians are beyond `covered`; unchecked ones are no nearer than
    the nearest of them (the list's last item). Ties count as not settled.
    """
    bound = min(covered, unchecked[-1][0]) if unchecked else covered
    return sum(1 for d, _ in ok if d < bound) >= k or (
        not unchecked and sum(1 for d, _ in ok if d <= covered) >= k)


def search(query: MatchQuery, k: int = 50, exclude_ids: Iterable[int] = ()) -> list[Match]:
    """The top-k qualified technicians for `query`, read from the match index.

    Ranges of the index come nearest first (geo.ranges_by_distance); they are
    read in steps of growing radius (at least doubling, further where the
    density seen so far says k are further out), one statement per step. Candidates are
    checked for blocks, bookings and compliance lazily, nearest first and in
    batches, so a query in a dense metro checks about k technicians, not
    thousands.
    """
    skip = set(exclude_ids)
    index = _IndexReader(db.session.connection(), query.skills)
    unchecked: list[tuple[float, int]] = []
    ok: list[tuple[float, int]] = []
    batch = k + k // 4 + 8
    lat0, lon0, radius = query.lat, query.lon, query.radius_km

    def read(ranges: list[tuple[int, int]], covered: float, last: bool = False) -> bool:
        """Read `ranges`, everyone nearer than `covered` being read by then; True when done."""
        if ranges:
            for tid, lat, lon, travel in index.rows(ranges):
                d = haversine_km(lat0, lon0, lat, lon)
                if d <= radius and d <= travel and tid not in skip:
                    unchecked.append((d, tid))
            unchecked.sort(reverse=True)   # nearest at the end: pop() is cheap
        if not last and len(ok) + len(unchecked) < k:
            return False                   # all of them are needed: check them in one go
        while unchecked and not _settled(ok, unchecked, covered, k):
            chunk = [unchecked.pop() for _ in range(min(batch, len(unchecked)))]
            bad = excluded_ids(query, [tid for _, tid in chunk])
            ok.extend((d, tid) for d, tid in chunk if tid not in bad)
        return _settled(ok, unchecked, covered, k)

    step, pending = _FIRST_STEP_KM, []
    for bound, cells in ranges_by_distance(lat0, lon0, radius):
        if bound > step:
            # Everyone nearer than `bound` is in what was yielded before it.
            if read(pending, bound):
                break
            step, pending = _next_step(step, bound, len(ok) + len(unchecked), k), []
        pending.append(cells)
    else:
        read(pending, radius, last=True)
    return _rank(query, {tid: d for d, tid in ok})[:k]


def match_technicians(assignment: Assignment, k: int = 50,
                      exclude_ids: Iterable[int] = ()) -> list[Match]:
    """The top-k technicians for an assignment, best first, each explaining itself."""
    return search(MatchQuery.of(assignment), k, exclude_ids)


def match_brute_force(query: MatchQuery | Assignment, k: int = 50,
                      exclude_ids: Iterable[int] = ()) -> list[Match]:
    """Reference: the same rules straight from the source tables, no index."""
    if isinstance(query, Assignment):
        query = MatchQuery.of(query)
    skip = set(exclude_ids)
    levels: dict[int, dict[int, int]] = {}
    for tid, sid, level in db.session.execute(select(
            TechnicianSkill.technician_id, TechnicianSkill.skill_id, TechnicianSkill.level)):
        levels.setdefault(tid, {})[sid] = level
    near: dict[int, float] = {}
    for profile in db.session.scalars(select(TechnicianProfile)):
        if not matchable(profile) or profile.id in skip:
            continue
        have = levels.get(profile.id, {})
        if any(have.get(sid, 0) < lvl for sid, lvl in query.skills.items()):
            continue
        d = haversine_km(query.lat, query.lon, profile.lat, profile.lon)
        if d <= query.radius_km and d <= profile.travel_radius_km:
            near[profile.id] = d
    bad = excluded_ids(query, list(near))
    return _rank(query, {t: d for t, d in near.items() if t not in bad})[:k]


# --- the technician's work feed ---------------------------------------------------

@dataclass
class FeedItem:
    assignment: Assignment
    distance_km: float

    @property
    def explanation(self) -> str:
        n = len(self.assignment.skills)
        return f"{self.distance_km:.1f} km, {n} of {n} skills"


def feed_for(profile: TechnicianProfile, limit: int = 50) -> list[FeedItem]:
    """Open published assignments the technician qualifies for, nearest first.

    The same rules as match_technicians, seen from the technician's side: every
    candidate assignment is checked with the same distance, skill and exclusion
    filters (`excluded_ids`) as a match query for that assignment.
    """
    if not matchable(profile):
        return []
    reach = float(profile.travel_radius_km)
    dlat = reach / 111.0
    dlon = reach / (111.0 * max(0.05, math.cos(math.radians(profile.lat))))
    candidates = db.session.scalars(select(Assignment).where(
        Assignment.status == AssignmentStatus.PUBLISHED, Assignment.starts_at > clock.now(),
        Assignment.lat.between(profile.lat - dlat, profile.lat + dlat),
        Assignment.lon.between(profile.lon - dlon, profile.lon + dlon))).all()
    have = dict(db.session.execute(select(TechnicianSkill.skill_id, TechnicianSkill.level).where(
        TechnicianSkill.technician_id == profile.id)).all())
    items = []
    for a in candidates:
        d = haversine_km(a.lat, a.lon, profile.lat, profile.lon)
        if d > reach or d > a.radius_km:
            continue
        if any(have.get(s.skill_id, 0) < s.min_level for s in a.skills):
            continue
        if profile.id in excluded_ids(MatchQuery.of(a), [profile.id]):
            continue
        items.append(FeedItem(a, d))
    items.sort(key=lambda i: (i.distance_km, i.assignment.starts_at, i.assignment.id))
    return items[:limit]
