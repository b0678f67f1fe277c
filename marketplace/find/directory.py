"""The technician directory: firms (and platform admins) find technicians by name,
skill and level, distance from a site, pool, and compliance with a requirement set.

Who a firm sees: every active technician's public profile (name, headline, city and
state, skills and levels, travel radius), and every technician it works with
(verify.relations), whatever their status. What is private (credentials and their
documents, history with other firms) stays on the profile page behind that same
rule. Distance is find's one definition (geo.distance_km) from a place geocoded the
one way (integrations.geocoding): a bounding box in SQL (geo.bounding_box holds
everyone within the distance), then the exact test and the order in Python, as the
feed does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, or_, select

from ..accounts import people
from ..accounts.models import (
    SkillLevel,
    TechnicianProfile,
    TechnicianSkill,
    TechnicianStatus,
    User,
)
from ..accounts.policy import firm_id_of
from ..core import clock
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..integrations import geocoding
from ..verify import relations
from ..verify.compliance import unmet_condition
from ..verify.models import RequirementSet
from ..web.pagination import Page, paginate
from .geo import bounding_box, distance_km
from .models import PoolMember, PoolMemberStatus, TalentPool

DEFAULT_WITHIN_KM = 50
MAX_WITHIN_KM = 500


def visible_scope(viewer: User) -> ColumnElement[bool] | None:
    """SQL condition on technicians: whom `viewer` may find (None: everyone, for admins)."""
    if viewer.is_admin:
        return None
    firm_id = firm_id_of(viewer)
    if firm_id is None:
        raise NotFound()
    return or_(TechnicianProfile.status == TechnicianStatus.ACTIVE,
               TechnicianProfile.id.in_(relations.technician_ids_for(firm_id)))


def visible_ids(viewer: User, technician_ids: list[int]) -> set[int]:
    """Of `technician_ids`, those `viewer` may find. Whoever is not among them is answered
    as if missing, whether the id exists or not, so ids cannot be probed."""
    ids = sorted({int(i) for i in technician_ids})
    if not ids:
        return set()
    scope = visible_scope(viewer)
    stmt = select(TechnicianProfile.id).where(TechnicianProfile.id.in_(ids))
    return set(db.session.scalars(stmt if scope is None else stmt.where(scope)))


def works_with_ids(viewer: User, technician_ids: list[int]) -> set[int]:
    """Of `technician_ids`, those the viewer's firm works with (one statement)."""
    firm_id = firm_id_of(viewer)
    if firm_id is None or not technician_ids:
        return set()
    return set(db.session.scalars(select(TechnicianProfile.id).where(
        TechnicianProfile.id.in_(technician_ids),
        TechnicianProfile.id.in_(relations.technician_ids_for(firm_id)))))


def access_technician(viewer: User, technician_id: int) -> TechnicianProfile:
    """A technician the viewer may look at; anyone else (and anything for technicians)
    is a 404."""
    if not (viewer.is_admin or viewer.is_firm_user):
        raise NotFound()
    tech = db.session.scalar(people.technicians_stmt(visible_scope(viewer))
                             .where(TechnicianProfile.id == technician_id))
    if tech is None:
        raise NotFound()
    return tech


def pick(viewer: User, text: str, field: str = "technician_id") -> TechnicianProfile:
    """The technician a firm picked (or typed the name of) in a form."""
    return people.pick_technician(text, visible_scope(viewer), field=field)


def suggest(viewer: User, text: str) -> list[TechnicianProfile]:
    return people.suggest(text, visible_scope(viewer))


# --- the search ---------------------------------------------------------------------

def _whole(raw: str, name: str, low: int, high: int, fields: dict, message: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        fields[name] = message
        return None
    return int(raw)


@dataclass(frozen=True)
class DirectoryQuery:
    q: str = ""
    skill_id: int | None = None
    min_level: int = SkillLevel.ENTRY
    near: str = ""
    within_km: int = DEFAULT_WITHIN_KM
    pool_id: int | None = None
    set_id: int | None = None
    mine: bool = False

    @property
    def filtered(self) -> bool:
        return any((self.q, self.skill_id, self.near, self.pool_id, self.set_id, self.mine))

    @classmethod
    def from_args(cls, args, viewer: User) -> "DirectoryQuery":
        """The query from a page's arguments; a bad one is a field error, never a 500."""
        fields: dict[str, str] = {}
        skill_id = _whole(args.get("skill", ""), "skill", 1, 2**31 - 1, fields,
                          "Choose a skill from the list.")
        level = _whole(args.get("level", ""), "level", SkillLevel.ENTRY, SkillLevel.EXPERT,
                       fields, "Levels run from 1 (entry) to 4 (expert).")
        within = _whole(args.get("within", ""), "within", 1, MAX_WITHIN_KM, fields,
                        f"Give a distance from 1 to {MAX_WITHIN_KM} km.")
        pool_id = _whole(args.get("pool", ""), "pool", 1, 2**31 - 1, fields,
                         "Choose one of your pools.")
        set_id = _whole(args.get("set", ""), "set", 1, 2**31 - 1, fields,
                        "Choose one of your requirement sets.")
        firm_id = firm_id_of(viewer)
        if pool_id is not None and db.session.scalar(select(TalentPool.id).where(
                TalentPool.id == pool_id, TalentPool.firm_id == firm_id)) is None:
            fields["pool"] = "Choose one of your pools."
        if set_id is not None:
            rset = db.session.get(RequirementSet, set_id)
            if rset is None or rset.firm_id not in (None, firm_id):
                fields["set"] = "Choose one of your requirement sets."
        if fields:
            raise ValidationFailed("Check the search.", fields=fields)
        return cls(q=" ".join((args.get("q") or "").split())[:120], skill_id=skill_id,
                   min_level=level or SkillLevel.ENTRY,
                   near=" ".join((args.get("near") or "").split())[:200],
                   within_km=within or DEFAULT_WITHIN_KM, pool_id=pool_id, set_id=set_id,
                   mine=bool(args.get("mine")) and firm_id is not None)


@dataclass
class Row:
    tech: TechnicianProfile
    distance_km: float | None
    works_with: bool

    @property
    def within_their_radius(self) -> bool:
        return self.distance_km is not None and self.distance_km <= self.tech.travel_radius_km


@dataclass
class Origin:
    """The place a search measures from."""
    label: str
    lat: float
    lon: float


def _filtered(stmt: Select, viewer: User, query: DirectoryQuery, on: date) -> Select:
    stmt = people.named(stmt, query.q)
    if query.skill_id is not None:
        stmt = stmt.where(select(TechnicianSkill.id).where(
            TechnicianSkill.technician_id == TechnicianProfile.id,
            TechnicianSkill.skill_id == query.skill_id,
            TechnicianSkill.level >= query.min_level).exists())
    if query.pool_id is not None:
        stmt = stmt.where(TechnicianProfile.id.in_(select(PoolMember.technician_id).where(
            PoolMember.pool_id == query.pool_id, PoolMember.status == PoolMemberStatus.ACTIVE)))
    if query.set_id is not None:
        stmt = stmt.where(~unmet_condition(TechnicianProfile.id, query.set_id, on))
    if query.mine:
        stmt = stmt.where(TechnicianProfile.id.in_(
            relations.technician_ids_for(firm_id_of(viewer))))
    return stmt


def origin_of(query: DirectoryQuery) -> Origin | None:
    if not query.near:
        return None
    place = geocoding.geocode(query.near, field="near")
    return Origin(place.label, place.lat, place.lon)


def search(viewer: User, query: DirectoryQuery, page: int, per_page: int,
           on: date | None = None) -> tuple[Page, Origin | None]:
    """A page of Rows: by name, or nearest first when measuring from a place."""
    on = on or clock.today()
    scope = visible_scope(viewer)
    origin = origin_of(query)
    if origin is None:
        found = paginate(_filtered(people.technicians_stmt(scope), viewer, query, on),
                         page, per_page)
        techs, distances = found.items, {}
        total = found.total
    else:
        lat_lo, lat_hi, lons = bounding_box(origin.lat, origin.lon, query.within_km)
        t = TechnicianProfile
        near = select(t.id, t.lat, t.lon).join(User, User.id == t.user_id).where(
            t.lat.between(lat_lo, lat_hi), or_(*(t.lon.between(lo, hi) for lo, hi in lons)))
        if scope is not None:
            near = near.where(scope)
        candidates = []
        for tid, lat, lon in db.session.execute(_filtered(near, viewer, query, on)):
            d = distance_km(origin.lat, origin.lon, lat, lon)
            if d <= query.within_km:
                candidates.append((d, tid))
        candidates.sort()
        total = len(candidates)
        shown = candidates[(page - 1) * per_page:page * per_page]
        distances = {tid: d for d, tid in shown}
        loaded = {tech.id: tech for tech in db.session.scalars(
            people.technicians_stmt().where(t.id.in_(list(distances))))}
        techs = [loaded[tid] for _, tid in shown if tid in loaded]
    mine = works_with_ids(viewer, [tech.id for tech in techs])
    rows = [Row(tech, distances.get(tech.id), tech.id in mine) for tech in techs]
    return Page(items=rows, page=page, per_page=per_page, total=total), origin
