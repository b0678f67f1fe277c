"""The match index: derived rows the matching engine reads instead of the source tables.

One row per (skill, stored H3 cell, technician) for every matchable technician,
plus a skill 0 ("any skill") row, carrying every column a search reads. It is
kept in step on every technician change (find/subscribers.py) and can be
rebuilt from the source tables at any time (`flask find reindex`).
"""
from __future__ import annotations

import time
from typing import Iterable

from sqlalchemy import delete, func, insert, select

from ..accounts.models import TechnicianProfile, TechnicianSkill, TechnicianStatus, User
from ..extensions import db
from .geo import cell_of
from .models import MatchIndexRow

ANY_SKILL = 0
_CHUNK = 1000
_COUNTS_TTL_S = 600.0
_counts: dict[tuple[str, int], tuple[float, int]] = {}


def _rows(profile: TechnicianProfile, skills: Iterable[tuple[int, int]]) -> list[dict]:
    base = {"cell": cell_of(profile.lat, profile.lon), "technician_id": profile.id,
            "lat": profile.lat, "lon": profile.lon,
            "travel_radius_km": profile.travel_radius_km}
    rows = [{**base, "skill_id": ANY_SKILL, "level": 0}]
    rows += [{**base, "skill_id": sid, "level": level} for sid, level in skills]
    return rows


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
        rows += _rows(profile, skills.get(profile.id, []))
        if len(rows) >= 5000:
            db.session.execute(insert(MatchIndexRow), rows)
            count, rows = count + len(rows), []
    if rows:
        db.session.execute(insert(MatchIndexRow), rows)
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
