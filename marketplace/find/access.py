"""Permission-checked loaders for find's objects: another firm's object is a 404."""
from __future__ import annotations

from typing import Callable

from flask import Flask
from sqlalchemy import select

from ..accounts.models import User
from ..accounts.policy import is_member
from ..core.hooks import hooks
from ..errors import NotFound
from ..extensions import db
from .attachment_models import Attachment
from .models import (
    Assignment,
    AssignmentTemplate,
    PoolMember,
    PoolVisibility,
    TalentPool,
)

# Later stages say which technicians are looking at an assignment (engage: an
# offer, an application); find cannot import them, so they register a rule.
TechnicianRule = Callable[[int, int], bool]  # (technician_id, assignment_id) -> may see
READERS_HOOK = "assignment_readers"


def register_technician_access(app: Flask, rule: TechnicianRule) -> None:
    hooks(app).add(READERS_HOOK, rule)


def technician_may_see(technician_id: int, assignment: Assignment) -> bool:
    """The assignee, or a technician a later stage says is engaged with the work."""
    if assignment.assignee_id == technician_id:
        return True
    return any(rule(technician_id, assignment.id) for rule in hooks().get(READERS_HOOK))


def access_assignment(user: User, assignment_id: int) -> Assignment:
    a = db.session.get(Assignment, assignment_id)
    if a is None or not is_member(user, a.firm_id):
        raise NotFound()
    return a


def _technician_may_read(user: User, assignment: Assignment | None) -> bool:
    tech = getattr(user, "technician", None)
    return tech is not None and assignment is not None and technician_may_see(tech.id, assignment)


def access_assignment_as_reader(user: User, assignment_id: int) -> Assignment:
    """The firm's own assignment, or one the technician has an offer for or holds."""
    a = db.session.get(Assignment, assignment_id)
    if a is None:
        raise NotFound()
    if is_member(user, a.firm_id):
        return a
    if _technician_may_read(user, a):
        return a
    raise NotFound()


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """The firm's own members; a technician only for an assignment they may see."""
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        raise NotFound()
    if is_member(user, att.firm_id):
        return att
    if att.assignment_id is not None and _technician_may_read(
            user, db.session.get(Assignment, att.assignment_id)):
        return att
    raise NotFound()


def access_template(user: User, template_id: int) -> AssignmentTemplate:
    t = db.session.get(AssignmentTemplate, template_id)
    if t is None or not is_member(user, t.firm_id):
        raise NotFound()
    return t


def access_pool(user: User, pool_id: int) -> TalentPool:
    p = db.session.get(TalentPool, pool_id)
    if p is None or not is_member(user, p.firm_id):
        raise NotFound()
    return p


def access_public_pool(user: User, pool_id: int) -> TalentPool:
    """A technician sees a pool that is public or to which they were invited."""
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


def access_membership(user: User, pool_id: int) -> PoolMember:
    """The technician's own membership row in a pool (invited, applied, active...)."""
    tech = getattr(user, "technician", None)
    member = None if tech is None else db.session.scalar(select(PoolMember).where(
        PoolMember.pool_id == pool_id, PoolMember.technician_id == tech.id))
    if member is None:
        raise NotFound()
    return member
