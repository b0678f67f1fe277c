"""Permission-checked loaders for find's objects: another firm's object is a 404."""
from __future__ import annotations

from ..accounts.models import User
from ..errors import NotFound
from ..extensions import db
from .models import Assignment, AssignmentTemplate, TalentPool


def _firm_id(user: User) -> int | None:
    return user.membership.firm_id if getattr(user, "is_firm_user", False) else None


def access_assignment(user: User, assignment_id: int) -> Assignment:
    a = db.session.get(Assignment, assignment_id)
    if a is None or _firm_id(user) is None or a.firm_id != _firm_id(user):
        raise NotFound()
    return a


def access_template(user: User, template_id: int) -> AssignmentTemplate:
    t = db.session.get(AssignmentTemplate, template_id)
    if t is None or _firm_id(user) is None or t.firm_id != _firm_id(user):
        raise NotFound()
    return t


def access_pool(user: User, pool_id: int) -> TalentPool:
    p = db.session.get(TalentPool, pool_id)
    if p is None or _firm_id(user) is None or p.firm_id != _firm_id(user):
        raise NotFound()
    return p


def access_public_pool(user: User, pool_id: int) -> TalentPool:
    """A technician sees a pool that is public or to which they were invited."""
    from sqlalchemy import select

    from .models import PoolMember, PoolVisibility
    p = db.session.get(TalentPool, pool_id)
    tech = getattr(user, "technician", None)
    if p is None or tech is None:
        raise NotFound()
    if p.visibility == PoolVisibility.PUBLIC:
        return p
    invited = db.session.scalar(select(PoolMember.id).where(
        PoolMember.pool_id == p.id, PoolMember.technician_id == tech.id))
    if invited is None:
        raise NotFound()
    return p
