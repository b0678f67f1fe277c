"""Matching technicians to an assignment (and assignments to a technician: the feed).

Who qualifies: an active technician with a location, not blocked by the firm,
within their own travel radius *and* the assignment's radius of the site, with
every required skill at its minimum level, compliant with the requirement set
on the assignment's local date (verify.compliance), and not booked (assigned or
in progress) in an overlapping window.

Score (lower is better): the distance in km from the site (geo.distance_km), times the
factor of each ranking term a later stage registers (hook ``match_ranking``: rate's
reliability), looked up once for the qualified technicians found. Ties go to the lower
technician id. `order` sorts by distance alone, or by one term's value, instead.

Speed: a search reads the match index (match_index.py) in steps of growing
radius, each step one statement over the cover of a ring (geo.cover) that
returns only the rows of that ring that can qualify (index_reader.py). Blocks,
bookings and compliance are checked in one statement for the nearest
candidates only, in batches; it stops as soon as k qualified technicians are
nearer than the radius read: nobody unread can beat them.
"""
from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, bindparam, cast, func, or_, select
from sqlalchemy.dialects import postgresql
from flask import Flask, has_app_context
from sqlalchemy.orm import joinedload

from ..accounts.models import TechnicianProfile, TechnicianSkill
from ..core import clock
from ..core.hooks import hooks
from ..extensions import db
from . import exclusions
from .geo import (EARTH_RADIUS_KM, SPHERE_STRETCH, bounding_box, cell_of, cover, distance_km,
                  haversine_km, haversine_sql, sphere_km, unit)
from .index_reader import IndexReader
from .match_index import matchable, rebuild_index, reindex_technician
from .models import Assignment, AssignmentSkill, AssignmentStatus

__all__ = ["EARTH_RADIUS_KM", "Match", "MatchQuery", "cell_of", "excluded_ids", "feed_for",
           "haversine_km", "haversine_sql", "match_brute_force", "match_technicians",
           "rebuild_index", "reindex_technician", "search"]

_FIRST_STEP_KM = 1.0


def _next_step(step: float, found: int, k: int) -> float:
    """The radius to read to next: at least double, and as far as the density seen so
    far says k technicians need (area grows with the square of the radius)."""
    want = step * math.sqrt(1.5 * k / max(found, 1))
    return max(step * 2, min(want, step * 8))


@dataclass
class Match:
    technician_id: int
    distance_km: float
    skills_matched: int
    skills_required: int
    score: float
    terms: dict[str, float | None] = field(default_factory=dict)   # ranking terms' values
    notes: list[str] = field(default_factory=list)                 # "reliability 91"

    @property
    def explanation(self) -> str:
        return ", ".join([f"{self.distance_km:.1f} km", f"{self.skills_matched} of "
                          f"{self.skills_required} skills", *self.notes])


RANKING_HOOK = "match_ranking"


@dataclass(frozen=True)
class RankingTerm:
    """A ranking term: `values(ids)` looks the candidates up in one go, `factor(value)`
    multiplies the distance in the mixed score, `label(value)` explains it."""
    key: str
    values: Callable[[list[int]], dict[int, float | None]]
    factor: Callable[[float | None], float]
    label: Callable[[float | None], str]


def register_ranking_term(app: Flask, term: RankingTerm) -> None:
    hooks(app).add(RANKING_HOOK, term)


def ranking_orders() -> list[str]:
    """How a dispatcher may sort matches: the mix, distance alone, or one term."""
    terms = hooks().get(RANKING_HOOK) if has_app_context() else []
    return ["ranked", "distance", *(t.key for t in terms)]


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
        return cls(lat=assignment.lat, lon=assignment.lon, radius_km=assignment.radius_km,
                   skills={s.skill_id: s.min_level for s in assignment.skills},
                   firm_id=assignment.firm_id, requirement_set_id=assignment.requirement_set_id,
                   on=site_day(assignment.timezone, assignment.starts_at),
                   starts_at=assignment.starts_at, ends_at=assignment.ends_at,
                   assignment_id=assignment.id)


def site_day(timezone: str | None, starts_at: datetime | None) -> date | None:
    """An assignment's day: the date at its site when it starts."""
    if starts_at is None:
        return None
    return starts_at.astimezone(ZoneInfo(timezone or "UTC")).date()


# --- filters shared by the engine, the brute-force reference and the feed -------

def _ids_table(dialect: str):
    """The candidate ids as a table (column `value`) from one parameter (a PostgreSQL
    array, a JSON list on SQLite): the statement's text never changes with them."""
    if dialect == "postgresql":
        return func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer))) \
            .table_valued("value").render_derived(name="c")
    return func.json_each(bindparam("ids", type_=String)).table_valued("value").alias("c")


@lru_cache(maxsize=None)
def _exclusion_stmt(dialect: str, by_firm: bool, by_window: bool, by_set: bool,
                    skip_assignment: bool):
    """One statement for every exclusion (find.exclusions), compiled once per shape:
    the candidate ids that are blocked, booked or non-compliant, each an indexed
    probe per id."""
    ids = _ids_table(dialect)
    tid = ids.c.value
    binds = {}
    if by_firm:
        binds["firm_id"] = bindparam("firm_id")
    if by_window:
        binds.update(starts_at=bindparam("starts_at"), ends_at=bindparam("ends_at"))
    if skip_assignment:
        binds["other_than"] = bindparam("assignment_id")
    if by_set:
        binds.update(requirement_set_id=bindparam("requirement_set_id"), on=bindparam("on"))
    return select(tid).select_from(ids).where(exclusions.excluded(tid, **binds))


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


def _rank(query: MatchQuery, found: dict[int, float], order: str = "ranked") -> list[Match]:
    n = len(query.skills)
    matches = [Match(tid, d, n, n, d) for tid, d in found.items()]
    terms = hooks().get(RANKING_HOOK) if has_app_context() and matches else []
    for term in terms:
        values = term.values([m.technician_id for m in matches])
        for m in matches:
            value = values.get(m.technician_id)
            m.terms[term.key] = value
            m.notes.append(term.label(value))
            m.score *= term.factor(value)
    if order == "distance":
        return sorted(matches, key=lambda m: (m.distance_km, m.technician_id))
    if order in {t.key for t in terms}:
        return sorted(matches, key=lambda m: (m.terms[order] is None, -(m.terms[order] or 0),
                                              m.distance_km, m.technician_id))
    return sorted(matches, key=lambda m: (m.score, m.technician_id))


# --- the engine --------------------------------------------------------------------

def search(query: MatchQuery, k: int = 50, exclude_ids: Iterable[int] = (),
           order: str = "ranked") -> list[Match]:
    """The top-k qualified technicians for `query`, read from the match index.

    Step i reads the ring between the radii of steps i-1 and i (the first, a
    disc of _FIRST_STEP_KM); each next radius at least doubles, further where
    the density seen so far says k technicians need (_next_step). After each
    step, candidates nearer than its radius are checked nearest first, in
    batches a little larger than what is still needed, so a query in a dense
    metro checks about k technicians, not thousands.
    """
    skip = set(exclude_ids)
    index = IndexReader(db.session.connection(), query.skills)
    lat0, lon0, radius = query.lat, query.lon, float(query.radius_km)
    site = unit(lat0, lon0)
    unchecked: list[tuple[float, int]] = []      # a heap, nearest first
    ok: list[tuple[float, int]] = []
    read = sphere_km(radius)    # on the sphere, the prefilters' radius (geo.py says why)
    inner, c_in, step = 0.0, 2.0, min(_FIRST_STEP_KM, read)
    while True:
        last = step >= read
        # Unit vectors make dot = cos(angle); the last step keeps a hair of slack
        # and the exact distance test below has the final word.
        c_out = math.cos(read / EARTH_RADIUS_KM) - 1e-9 if last else \
            math.cos(step / EARTH_RADIUS_KM)
        for tid, lat, lon, travel in index.rows(cover(lat0, lon0, step, inner), site,
                                                c_out, c_in):
            d = distance_km(lat0, lon0, lat, lon)
            if d <= radius and d <= travel and tid not in skip:
                heapq.heappush(unchecked, (d, tid))
        # Everyone unread is at least `step` away on the sphere, so at least
        # step / SPHERE_STRETCH on the ellipsoid (to rounding): those nearer are final.
        # While fewer than k are known, every one of them will need checking anyway:
        # wait, and check them in one go.
        bound = math.inf if last else step / SPHERE_STRETCH - 1e-6
        while (last or len(ok) + len(unchecked) >= k) and unchecked and \
                unchecked[0][0] < bound and len(ok) < k:
            need = k - len(ok)
            chunk = []
            while unchecked and unchecked[0][0] < bound and len(chunk) < need + need // 8 + 4:
                chunk.append(heapq.heappop(unchecked))
            bad = excluded_ids(query, [tid for _, tid in chunk])
            ok.extend((d, tid) for d, tid in chunk if tid not in bad)
        if len(ok) >= k or last:
            break
        inner, c_in = step, c_out
        step = min(read, _next_step(step, len(ok) + len(unchecked), k))
    return _rank(query, {tid: d for d, tid in ok}, order)[:k]


def match_technicians(assignment: Assignment, k: int = 50,
                      exclude_ids: Iterable[int] = (), order: str = "ranked") -> list[Match]:
    """The top-k technicians for an assignment, best first, each explaining itself (the
    k nearest qualified, ordered by the ranking mix or by `order`)."""
    return search(MatchQuery.of(assignment), k, exclude_ids, order)


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
        d = distance_km(query.lat, query.lon, profile.lat, profile.lon)
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


@lru_cache(maxsize=None)
def _feed_exclusion_stmt(dialect: str):
    """The feed's exclusions in one statement: of the candidate assignments (ids with
    the site-local date each is judged on), those the technician (`tid`) may not
    take (find.exclusions, judged against each assignment's own columns)."""
    if dialect == "postgresql":
        chosen = func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer)),
                             bindparam("ons", type_=postgresql.ARRAY(Date))) \
            .table_valued("id", "on").render_derived(name="c")
        chosen_id, day = chosen.c.id, chosen.c.on
    else:   # a JSON object {assignment id: "YYYY-MM-DD"}
        chosen = func.json_each(bindparam("pairs", type_=String)).table_valued(
            "key", "value").alias("c")
        chosen_id, day = chosen.c.key, chosen.c.value
    a = Assignment
    excluded = exclusions.excluded(
        bindparam("tid", type_=Integer), firm_id=a.firm_id, starts_at=a.starts_at,
        ends_at=a.ends_at, other_than=a.id, requirement_set_id=a.requirement_set_id, on=day)
    return (select(a.id).select_from(chosen).join(a, a.id == cast(chosen_id, Integer))
            .where(excluded))


def _feed_excluded(profile: TechnicianProfile, days: dict[int, date]) -> set[int]:
    """Of the candidate assignments ({id: its site-local date}), those excluded."""
    if not days:
        return set()
    conn = db.session.connection()
    dialect = conn.dialect.name
    params = {"tid": profile.id}
    if dialect == "postgresql":
        params.update(ids=list(days), ons=list(days.values()))
    else:
        params["pairs"] = json.dumps({str(k): v.isoformat() for k, v in days.items()})
    return set(conn.execute(_feed_exclusion_stmt(dialect), params).scalars())


def _lacks_a_skill(technician_id: int):
    """The assignment asks for a skill the technician lacks or holds below its level."""
    held = select(TechnicianSkill.id).where(
        TechnicianSkill.technician_id == technician_id,
        TechnicianSkill.skill_id == AssignmentSkill.skill_id,
        TechnicianSkill.level >= AssignmentSkill.min_level).exists()
    return select(AssignmentSkill.id).where(AssignmentSkill.assignment_id == Assignment.id,
                                            ~held).exists()


def feed_for(profile: TechnicianProfile, limit: int = 50) -> list[FeedItem]:
    """Open published assignments the technician qualifies for, nearest first.

    The same rules as match_technicians, seen from the technician's side: the
    same distance and skill tests, and the exclusions (blocks, bookings,
    compliance on each assignment's date) in one statement for the nearest
    candidates, in batches a little larger than what is still needed. Only the
    assignments shown are loaded (with their skills and firm), in one go.
    """
    if not matchable(profile):
        return []
    reach = float(profile.travel_radius_km)
    lat_lo, lat_hi, lons = bounding_box(profile.lat, profile.lon, reach)
    a = Assignment
    rows = db.session.execute(select(a.id, a.lat, a.lon, a.radius_km, a.starts_at, a.timezone)
                              .where(a.status == AssignmentStatus.PUBLISHED,
                                     a.starts_at > clock.now(),
                                     a.lat.between(lat_lo, lat_hi),
                                     or_(*(a.lon.between(lo, hi) for lo, hi in lons)),
                                     ~_lacks_a_skill(profile.id))).all()
    near = []
    for aid, lat, lon, radius_km, starts_at, tz in rows:
        d = distance_km(lat, lon, profile.lat, profile.lon)
        if d <= reach and d <= radius_km:
            near.append((d, starts_at, aid, tz))
    near.sort(key=lambda r: r[:3])
    shown: list[tuple[float, int]] = []
    pos = 0
    while pos < len(near) and len(shown) < limit:
        need = limit - len(shown)
        chunk = near[pos:pos + need + need // 8 + 4]
        pos += len(chunk)
        bad = _feed_excluded(profile, {aid: site_day(tz, starts_at) or clock.today()
                                       for _, starts_at, aid, tz in chunk})
        shown.extend((d, aid) for d, _, aid, _ in chunk if aid not in bad)
    shown = shown[:limit]
    if not shown:
        return []
    loaded = {x.id: x for x in db.session.scalars(
        select(Assignment).where(Assignment.id.in_([aid for _, aid in shown]))
        .options(joinedload(Assignment.skills), joinedload(Assignment.firm))).unique()}
    return [FeedItem(loaded[aid], d) for d, aid in shown]
