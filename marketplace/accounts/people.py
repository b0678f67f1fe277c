"""Finding people: technicians by name (the base of the directory and of every
"pick a technician" field) and, for platform admins, users by name, email, role
and status.

A technician is picked by name from suggestions labelled "Dana Reyes · Dallas, TX
· #12"; the text a person types is resolved here, the same way for every form, and
never silently dropped: an unknown or ambiguous name is a field error that says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..errors import ValidationFailed
from ..extensions import db
from .models import (
    AccountKind,
    Membership,
    Role,
    TechnicianProfile,
    TechnicianSkill,
    TechnicianStatus,
    User,
    with_role,
)

SUGGESTIONS = 10
_PICKED = re.compile(r"#\s*(\d{1,10})\s*$")


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_contains(column, text: str) -> ColumnElement[bool]:
    return column.ilike(_like(text), escape="\\")


def technicians_stmt(scope: ColumnElement[bool] | None = None) -> Select:
    """Technicians with their account, skills and skill names loaded, by name: the one
    base query of the directory and of the pickers. `scope` narrows who may be seen."""
    stmt = (select(TechnicianProfile).join(User, User.id == TechnicianProfile.user_id)
            .options(joinedload(TechnicianProfile.user),
                     selectinload(TechnicianProfile.skills).joinedload(TechnicianSkill.skill))
            .order_by(User.name, TechnicianProfile.id))
    return stmt.where(scope) if scope is not None else stmt


def named(stmt: Select, text: str) -> Select:
    """Narrow a technicians_stmt to names containing `text` (case-insensitive)."""
    text = " ".join((text or "").split())
    return stmt.where(name_contains(User.name, text)) if text else stmt


def pick_label(tech: TechnicianProfile) -> str:
    """What a suggestion shows and a picked field holds: name, place and the id."""
    place = ", ".join(p for p in (tech.city, tech.state) if p)
    return " · ".join(p for p in (tech.name, place, f"#{tech.id}") if p)


def picked_id(text: str) -> int | None:
    """The id in a picked value ("… · #12") or a bare number; None for a typed name."""
    text = (text or "").strip()
    match = _PICKED.search(text)
    if match:
        return int(match.group(1))
    return int(text) if text.isdigit() and len(text) <= 10 else None


def suggest(text: str, scope: ColumnElement[bool] | None = None,
            limit: int = SUGGESTIONS) -> list[TechnicianProfile]:
    """Technicians in `scope` whose name contains `text`, by name."""
    text = " ".join((text or "").split())
    if not text:
        return []
    return list(db.session.scalars(named(technicians_stmt(scope), text).limit(limit)).unique())


def pick_technician(text: str, scope: ColumnElement[bool] | None = None, *,
                    field: str = "technician", among: str = "in the directory"
                    ) -> TechnicianProfile:
    """Resolve what was typed or picked into one technician in `scope`.

    A picked suggestion (or a bare id) names one technician; a typed name must match
    exactly one (an exact full name wins over partial matches). Anything else is a
    field error saying what was found, so the person can pick from the list.
    """
    raw = " ".join((text or "").split())
    if not raw:
        raise ValidationFailed.field(field, "Type a technician's name and pick them from "
                                            "the list.")
    tech_id = picked_id(raw)
    if tech_id is not None:
        tech = db.session.scalar(technicians_stmt(scope).where(TechnicianProfile.id == tech_id))
        if tech is None:
            raise ValidationFailed.field(field, f"There is no technician #{tech_id} {among}.")
        return tech
    exact = list(db.session.scalars(technicians_stmt(scope).where(
        func.lower(User.name) == raw.lower()).limit(2)).unique())
    if len(exact) == 1:
        return exact[0]
    found = suggest(raw, scope, limit=SUGGESTIONS + 1)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValidationFailed.field(field, f"No technician called “{raw}” {among}.")
    many = f"More than {SUGGESTIONS}" if len(found) > SUGGESTIONS else str(len(found))
    raise ValidationFailed.field(field, f"{many} technicians match “{raw}”: pick one from "
                                        "the list.")


# --- users, for platform admins ----------------------------------------------------

ROLE_FILTERS = {
    "admin": "Platform admins",
    "technician": "Technicians",
    "firm": "Firm members (any role)",
    Role.OWNER.value: "Firm owners",
    Role.MANAGER.value: "Firm managers",
    Role.DISPATCHER.value: "Dispatchers",
}
STATUS_FILTERS = {
    "active": "Active",
    TechnicianStatus.SUSPENDED.value: "Suspended technicians",
    TechnicianStatus.OFFBOARDED.value: "Offboarded technicians",
    "disabled": "Disabled accounts",
}


@dataclass(frozen=True)
class UserQuery:
    q: str = ""
    role: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args) -> "UserQuery":
        query = cls(q=" ".join((args.get("q") or "").split())[:200],
                    role=(args.get("role") or "").strip(),
                    status=(args.get("status") or "").strip())
        fields = {}
        if query.role and query.role not in ROLE_FILTERS:
            fields["role"] = "Choose a role from the list."
        if query.status and query.status not in STATUS_FILTERS:
            fields["status"] = "Choose a status from the list."
        if fields:
            raise ValidationFailed("Check the filters.", fields=fields)
        return query


def search_users(query: UserQuery) -> Select:
    """Users matching the admin's search, by name; each with their firm or profile."""
    stmt = (select(User).outerjoin(Membership, Membership.user_id == User.id)
            .outerjoin(TechnicianProfile, TechnicianProfile.user_id == User.id)
            .options(*with_role()).order_by(User.name, User.id))
    if query.q:
        stmt = stmt.where(or_(name_contains(User.name, query.q),
                              name_contains(User.email, query.q)))
    if query.role == "admin":
        stmt = stmt.where(User.kind == AccountKind.ADMIN)
    elif query.role == "technician":
        stmt = stmt.where(User.kind == AccountKind.TECHNICIAN)
    elif query.role == "firm":
        stmt = stmt.where(Membership.id.is_not(None))
    elif query.role:
        stmt = stmt.where(Membership.role == Role(query.role))
    if query.status == "disabled":
        stmt = stmt.where(User.is_enabled.is_(False))
    elif query.status == "active":
        stmt = stmt.where(User.is_enabled.is_(True), or_(
            TechnicianProfile.id.is_(None), TechnicianProfile.status == TechnicianStatus.ACTIVE))
    elif query.status:
        stmt = stmt.where(and_(TechnicianProfile.status == TechnicianStatus(query.status)))
    return stmt
