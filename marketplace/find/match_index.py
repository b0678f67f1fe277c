"""The match index: derived rows the matching engine reads instead of the source tables.

One row per (skill, stored H3 cell, technician) for every matchable technician,
plus a skill 0 ("any skill") row, carrying every column a search reads: the
location also as a unit vector and the travel radius as a cosine (geo.py says
why), and a signature of all the technician's skills. It is
kept in step on every technician change (find/subscribers.py) and can be
rebuilt from the source tables at any time (`flask find reindex`).
"""
from __future__ import annotations

import math
import time
from typing import Iterable

from sqlalchemy import delete, func, insert, select

from ..accounts.models import TechnicianProfile, TechnicianSkill, TechnicianStatus, User
from ..core.progress import Progress, report
from ..extensions import db
from .geo import EARTH_RADIUS_KM, cell_of, unit
from .models import MatchIndexRow

ANY_SKILL = 0
_CHUNK = 1000
_COUNTS_TTL_S = 600.0
_counts: dict[tuple[str, int], tuple[float, int]] = {}


def skill_bits(skill_ids: Iterable[int]) -> int:
    """A 63-bit signature of a set of skills: a cheap superset test in SQL
    (`skills & mask = mask`) before the exact per-skill level check."""
    bits = 0
    for sid in skill_ids:
        bits |= 1 << (int(sid) % 63)
    return bits


def index_rows(technician_id: int, lat: float, lon: float, travel_radius_km: float,
               skills: Iterable[tuple[int, int]]) -> list[dict]:
    """The index rows of one technician: one per skill, plus ANY_SKILL."""
    skills = [(int(sid), int(level)) for sid, level in skills]
    x, y, z = unit(lat, lon)
    base = {"cell": cell_of(lat, lon), "technician_id": technician_id, "lat": lat, "lon": lon,
            "travel_radius_km": travel_radius_km, "x": x, "y": y, "z": z,
            "cos_travel": math.cos(min(math.pi, travel_radius_km / EARTH_RADIUS_KM)),
            "skills": skill_bits(sid for sid, _ in skills)}
    return [{**base, "skill_id": sid, "level": level}
            for sid, level in [(ANY_SKILL, 0)] + skills]


def _rows(profile: TechnicianProfile, skills: Iterable[tuple[int, int]]) -> list[dict]:
    return index_rows(profile.id, profile.lat, profile.lon, profile.travel_radius_km, skills)


def matchable(profile: TechnicianProfile | None) -> bool:
    return (profile is not None and profile.status == TechnicianStatus.ACTIVE
            and profile.has_location and profile.user.is_enabled)


def reindex_technician(technician_id: int) -> None:
    """Bring one technician's rows in step with their profile (flushes, never commits)."""
    db.session.flush()
    db.session.execute(delete(MatchIndexRow).where(MatchIndexRow.technician_id == technician_id))
    profile = db.session.get(TechnicianProfile, technician_id)
    if matchable(profile):
        skills = db.session.execute(select(TechnicianSkill.skill_id, TechnicianSkill.level).where(
            TechnicianSkill.technician_id == technician_id)).all()
        db.session.execute(insert(MatchIndexRow), _rows(profile, skills))


def reindex_technicians(technician_ids: Iterable[int]) -> None:
    """Set-based form of reindex_technician: one DELETE per chunk for the lot, then
    rebuild only those still matchable (none, when the sweep suspends them)."""
    ids = sorted(set(technician_ids))
    if not ids:
        return
    db.session.flush()
    still = []
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        db.session.execute(delete(MatchIndexRow).where(MatchIndexRow.technician_id.in_(part)))
        still += db.session.scalars(select(TechnicianProfile.id).where(
            TechnicianProfile.id.in_(part),
            TechnicianProfile.status == TechnicianStatus.ACTIVE)).all()
    for technician_id in still:
        reindex_technician(technician_id)


def rebuild_index(*, progress: Progress | None = None) -> int:
    """Rebuild the whole index from the source tables; returns the row count.

    `progress` hears how many of the matchable technicians are indexed so far."""
    db.session.flush()
    db.session.execute(delete(MatchIndexRow))
    skills: dict[int, list[tuple[int, int]]] = {}
    for tid, sid, level in db.session.execute(select(
            TechnicianSkill.technician_id, TechnicianSkill.skill_id, TechnicianSkill.level)):
        skills.setdefault(tid, []).append((sid, level))
    matchable_profiles = (
        select(TechnicianProfile).join(User, User.id == TechnicianProfile.user_id).where(
            TechnicianProfile.status == TechnicianStatus.ACTIVE, User.is_enabled.is_(True),
            TechnicianProfile.lat.is_not(None), TechnicianProfile.lon.is_not(None)))
    total = 0
    if progress is not None:
        total = db.session.scalar(select(func.count()).select_from(
            matchable_profiles.subquery())) or 0
        report(progress, 0, total, "technicians")
    rows: list[dict] = []
    count = done = 0
    for profile in db.session.scalars(matchable_profiles):
        rows += _rows(profile, skills.get(profile.id, []))
        done += 1
        if len(rows) >= 5000:
            db.session.execute(insert(MatchIndexRow), rows)
            count, rows = count + len(rows), []
            report(progress, done, total, "technicians")
    if rows:
        db.session.execute(insert(MatchIndexRow), rows)
    report(progress, done, max(total, done), "technicians")
    _counts.clear()
    return count + len(rows)


def skill_count(skill_id: int) -> int:
    """Rows of one skill in the index, cached for a while: a hint for the query plan only."""
    key = (str(db.engine.url), skill_id)
    hit = _counts.get(key)
    if hit is not None and time.monotonic() - hit[0] < _COUNTS_TTL_S:
        return hit[1]
    n = db.session.scalar(select(func.count()).select_from(MatchIndexRow).where(
        MatchIndexRow.skill_id == skill_id)) or 0
    _counts[key] = (time.monotonic(), n)
    return n
