"""Matching technicians to an assignment (and assignments to a technician: the feed).

Who qualifies: an active technician with a location, not blocked by the firm,
within their own travel radius *and* the assignment's radius of the site, with
every required skill at its minimum level, compliant with the requirement set
on the assignment's local date (verify.compliance), and not booked (assigned or
in progress) in an overlapping window.

Score (lower is better): the haversine distance in km from the site. Ties go to
the lower technician id. The rate stage adds reliability and rating terms here.

Speed: the match index (models.MatchIndexRow) holds one row per (skill, H3 cell,
technician) for matchable technicians, with the columns the query reads. A
search covers the site's disk in growing steps of radius and stops as soon as
k qualified technicians are closer than the radius already covered: nobody in
the cells not yet read can beat them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import h3
from sqlalchemy import delete, func, insert, select

from ..accounts.models import TechnicianProfile, TechnicianSkill, TechnicianStatus, User
from .. import clock
from ..extensions import db
from ..verify import compliance
from .models import BOOKED_STATES, Assignment, AssignmentStatus, FirmBlock, MatchIndexRow

# The one distance definition: haversine on a sphere of the mean Earth radius (IUGG).
EARTH_RADIUS_KM = 6371.0088
H3_RES = 6
ANY_SKILL = 0
# Smallest hexagon edge at H3_RES over the continental US, with a safety margin
# (H3 cells vary in size; the average edge at res 6 is ~3.7 km).
_EDGE_MIN_KM = 0.7 * h3.average_hexagon_edge_length(H3_RES, "km")
# Radii searched in turn: doubling from _FIRST_STEP_KM up to the assignment radius.
_FIRST_STEP_KM = 10.0


def _radii(radius_km: float) -> list[float]:
    steps, r = [], _FIRST_STEP_KM
    while r * 1.5 < radius_km:
        steps.append(r)
        r *= 2
    return steps + [float(radius_km)]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_sql(lat_col, lon_col, lat: float, lon: float):
    """The same formula as haversine_km, as a SQL expression (SQLite and PostgreSQL)."""
    p1, p2 = func.radians(lat_col), math.radians(lat)
    dp = (p2 - p1) / 2
    dl = (math.radians(lon) - func.radians(lon_col)) / 2
    a = func.sin(dp) * func.sin(dp) + \
        func.cos(p1) * math.cos(p2) * func.sin(dl) * func.sin(dl)
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(a))


def cell_of(lat: float, lon: float) -> int:
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, H3_RES))


def _disk_k(radius_km: float) -> int:
    """Rings of cells around the site's cell that hold every point within radius_km.

    A point within d of the site lies in a cell whose centre is within d + 2e of
    the site cell's centre, and ring k starts 1.5·k·e out.
    """
    return max(1, math.ceil((radius_km + 2 * _EDGE_MIN_KM) / (1.5 * _EDGE_MIN_KM)))


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


# --- the index -----------------------------------------------------------------

def _index_rows(profile: TechnicianProfile, skills: Iterable[tuple[int, int]]) -> list[dict]:
    cell = cell_of(profile.lat, profile.lon)
    base = {"cell": cell, "technician_id": profile.id, "lat": profile.lat, "lon": profile.lon,
            "travel_radius_km": profile.travel_radius_km}
    rows = [{**base, "skill_id": ANY_SKILL, "level": 0}]
    rows += [{**base, "skill_id": sid, "level": level} for sid, level in skills]
    return rows


def _matchable(profile: TechnicianProfile | None) -> bool:
    return (profile is not None and profile.status == TechnicianStatus.ACTIVE
            and profile.has_location and profile.user.is_enabled)


def reindex_technician(technician_id: int) -> None:
    """Bring one technician's index rows in step with their profile (add/flush only)."""
    db.session.flush()
    db.session.execute(delete(MatchIndexRow).where(MatchIndexRow.technician_id == technician_id))
    profile = db.session.get(TechnicianProfile, technician_id)
    if _matchable(profile):
        skills = db.session.execute(select(TechnicianSkill.skill_id, TechnicianSkill.level).where(
            TechnicianSkill.technician_id == technician_id)).all()
        db.session.execute(insert(MatchIndexRow), _index_rows(profile, skills))


def rebuild_index() -> int:
    """Rebuild the whole index from the source tables; returns the row count."""
    db.session.flush()
    db.session.execute(delete(MatchIndexRow))
    skills: dict[int, list[tuple[int, int]]] = {}
    for tid, sid, level in db.session.execute(select(
            TechnicianSkill.technician_id, TechnicianSkill.skill_id, TechnicianSkill.level)):
        skills.setdefault(tid, []).append((sid, level))
    profiles = db.session.scalars(
        select(TechnicianProfile).join(User, User.id == TechnicianProfile.user_id).where(
            TechnicianProfile.status == TechnicianStatus.ACTIVE, User.is_enabled.is_(True),
            TechnicianProfile.lat.is_not(None), TechnicianProfile.lon.is_not(None)))
    rows: list[dict] = []
    count = 0
    for profile in profiles:
        rows += _index_rows(profile, skills.get(profile.id, []))
        if len(rows) >= 5000:
            db.session.execute(insert(MatchIndexRow), rows)
            count, rows = count + len(rows), []
    if rows:
        db.session.execute(insert(MatchIndexRow), rows)
    return count + len(rows)


# --- filters shared by the engine, the brute-force reference and the feed -------

def excluded_ids(query: MatchQuery, ids: Sequence[int]) -> set[int]:
    """Of `ids`, those blocked by the firm, booked in an overlapping window or non-compliant."""
    if not ids:
        return set()
    out: set[int] = set()
    if query.firm_id is not None:
        out |= set(db.session.scalars(select(FirmBlock.technician_id).where(
            FirmBlock.firm_id == query.firm_id, FirmBlock.technician_id.in_(ids))))
    if query.starts_at is not None and query.ends_at is not None:
        stmt = select(Assignment.assignee_id).where(
            Assignment.assignee_id.in_(ids), Assignment.status.in_(BOOKED_STATES),
            Assignment.starts_at < query.ends_at, Assignment.ends_at > query.starts_at)
        if query.assignment_id is not None:
            stmt = stmt.where(Assignment.id != query.assignment_id)
        out |= set(db.session.scalars(stmt))
    if query.requirement_set_id is not None:
        ok = compliance.compliant_ids(query.requirement_set_id, query.on or clock.today(), ids)
        if ok is not None:
            out |= set(ids) - ok
    return out


def _rank(query: MatchQuery, found: dict[int, float]) -> list[Match]:
    n = len(query.skills)
    return sorted((Match(tid, d, n, n, d) for tid, d in found.items()),
                  key=lambda m: (m.score, m.technician_id))


# --- the engine --------------------------------------------------------------------

def _skill_sql(skills: dict[int, int]) -> str:
    if not skills:
        return f"skill_id = {ANY_SKILL}"
    return " OR ".join(f"(skill_id = {int(sid)} AND level >= {int(level)})"
                       for sid, level in skills.items())


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

    Each step reads only the cells not read before. Candidates are checked for
    blocks, bookings and compliance lazily, nearest first and in batches, so a
    query in a dense metro checks about k technicians, not thousands.
    """
    skip = set(exclude_ids)
    centre = h3.latlng_to_cell(query.lat, query.lon, H3_RES)
    sql_skills = _skill_sql(query.skills)
    n_skills = len(query.skills)
    conn = db.session.connection()
    seen_cells: set[str] = set()
    unchecked: list[tuple[float, int]] = []
    ok: list[tuple[float, int]] = []
    batch = max(k, 32)
    for covered in _radii(query.radius_km):
        cells = set(h3.grid_disk(centre, _disk_k(covered))) - seen_cells
        seen_cells |= cells
        if cells:
            # Every value is an int we computed, so inlining is safe, and it spares
            # building and compiling an expression per query (the hot path).
            cell_list = ",".join(str(h3.str_to_int(c)) for c in cells)
            stmt = ("SELECT technician_id, lat, lon, travel_radius_km FROM match_index "
                    f"WHERE cell IN ({cell_list}) AND ({sql_skills})")
            if n_skills > 1:
                stmt += (" GROUP BY technician_id, lat, lon, travel_radius_km "
                         f"HAVING count(*) = {n_skills}")
            for tid, lat, lon, travel in conn.exec_driver_sql(stmt):
                if tid in skip:
                    continue
                d = haversine_km(query.lat, query.lon, lat, lon)
                if d <= query.radius_km and d <= travel:
                    unchecked.append((d, tid))
            unchecked.sort(reverse=True)   # nearest at the end: pop() is cheap
        while unchecked and not _settled(ok, unchecked, covered, k):
            chunk = [unchecked.pop() for _ in range(min(batch, len(unchecked)))]
            bad = excluded_ids(query, [tid for _, tid in chunk])
            ok.extend((d, tid) for d, tid in chunk if tid not in bad)
        if _settled(ok, unchecked, covered, k):
            break
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
        if not _matchable(profile) or profile.id in skip:
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
    if not _matchable(profile):
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
