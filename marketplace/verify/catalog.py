"""Credential types and requirement sets: who may define them, and the rules."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..accounts.models import User
from ..accounts.policy import MANAGERS, firm_id_of, is_member, require_member
from ..core import audit
from ..core.actions import Action
from ..errors import NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from .models import CredentialKind, CredentialType, RequirementItem, RequirementSet


def can_define(user: User) -> bool:
    """May add credential types and requirement sets: admins (for the platform) and
    firm owners and managers (for their firm)."""
    return user.is_admin or is_member(user, None, *MANAGERS)


def _owner_firm_id(actor: User) -> int | None:
    """Admins define platform-wide things (firm None); firm owners/managers their firm's."""
    if actor.is_admin:
        return None
    return require_member(actor, None, *MANAGERS, message="Only platform admins and firm "
                          "owners or managers can do that.").firm_id


def _can_edit(user: User, firm_id: int | None) -> bool:
    return can_define(user) and _owner_firm_id(user) == firm_id


def can_edit_type(user: User, ctype: CredentialType) -> bool:
    """Admins edit platform types; a firm's owners and managers edit its own."""
    return _can_edit(user, ctype.firm_id)


def can_edit_set(user: User, rset: RequirementSet) -> bool:
    """Admins edit platform sets; a firm's owners and managers edit its own."""
    return _can_edit(user, rset.firm_id)


def parse_kind(value: str) -> CredentialKind:
    try:
        return CredentialKind(value)
    except ValueError:
        raise ValidationFailed.field("kind", "Choose a kind of credential.") from None


def _type_values(name: str, kind: str, coverage_cents: int | None) -> tuple[str, CredentialKind]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "Give the credential type a name.")
    if coverage_cents is not None and coverage_cents < 0:
        raise ValidationFailed.field("default_coverage", "Coverage cannot be negative.")
    return name, parse_kind(kind)


def create_type(actor: User, *, name: str, kind: str, issuing_body: str | None = None,
                description: str = "", requires_document: bool = True, expires: bool = True,
                default_coverage_cents: int | None = None) -> CredentialType:
    firm_id = _owner_firm_id(actor)
    name, kind_ = _type_values(name, kind, default_coverage_cents)
    ctype = CredentialType(firm_id=firm_id, name=name, kind=kind_,
                           issuing_body=(issuing_body or "").strip() or None,
                           description=description or "", requires_document=requires_document,
                           expires=expires, default_coverage_cents=default_coverage_cents)
    db.session.add(ctype)
    db.session.flush()
    audit.record(Action.CREDENTIAL_TYPE_CREATED, ctype, actor=actor, firm_id=firm_id,
                 after={"name": name, "kind": kind_.value})
    return ctype


def update_type(actor: User, ctype: CredentialType, *, name: str, kind: str,
                issuing_body: str | None = None, description: str = "",
                requires_document: bool = True, expires: bool = True,
                default_coverage_cents: int | None = None, is_active: bool = True) -> CredentialType:
    if not can_edit_type(actor, ctype):
        raise PermissionDenied("You cannot change this credential type.")
    name, kind_ = _type_values(name, kind, default_coverage_cents)
    before = {"name": ctype.name, "kind": ctype.kind.value, "is_active": ctype.is_active}
    ctype.name, ctype.kind = name, kind_
    ctype.issuing_body = (issuing_body or "").strip() or None
    ctype.description = description or ""
    ctype.requires_document, ctype.expires = requires_document, expires
    ctype.default_coverage_cents, ctype.is_active = default_coverage_cents, is_active
    audit.record(Action.CREDENTIAL_TYPE_UPDATED, ctype, actor=actor, firm_id=ctype.firm_id,
                 before=before, after={"name": name, "kind": kind_.value, "is_active": is_active})
    return ctype


def list_types(viewer: User, *, active_only: bool = False) -> list[CredentialType]:
    """Platform types, plus the viewer's firm's own (admins see platform types only)."""
    stmt = select(CredentialType)
    if viewer.is_firm_user:
        stmt = stmt.where(or_(CredentialType.firm_id.is_(None),
                              CredentialType.firm_id == firm_id_of(viewer)))
    elif viewer.is_admin:
        stmt = stmt.where(CredentialType.firm_id.is_(None))
    if active_only:
        stmt = stmt.where(CredentialType.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(CredentialType.firm_id.is_not(None),
                                                 CredentialType.name)))


def submittable_types(technician_id: int) -> list[CredentialType]:
    """Active platform types, plus the private types of firms the technician works with
    or that reached out to them (verify.relations), or that they already hold.

    A firm's private type stays private: technicians get to it through that
    firm's work, never by browsing the catalog.
    """
    from .models import Credential
    from .relations import firm_ids_reaching
    held = select(Credential.credential_type_id).where(Credential.technician_id == technician_id)
    return list(db.session.scalars(select(CredentialType).where(
        CredentialType.is_active.is_(True),
        or_(CredentialType.firm_id.is_(None), CredentialType.id.in_(held),
            CredentialType.firm_id.in_(firm_ids_reaching(technician_id))))
        .order_by(CredentialType.name)))


def access_type_for_edit(user: User, type_id: int) -> CredentialType:
    ctype = db.session.get(CredentialType, type_id)
    if ctype is None or not can_edit_type(user, ctype):
        raise NotFound()
    return ctype


# Requirement sets -------------------------------------------------------------

def _visible_types(actor_firm_id: int | None) -> dict[int, CredentialType]:
    stmt = select(CredentialType).where(or_(CredentialType.firm_id.is_(None),
                                            CredentialType.firm_id == actor_firm_id))
    return {t.id: t for t in db.session.scalars(stmt)}


def save_requirement_set(actor: User, rset: RequirementSet | None, *, name: str,
                         description: str = "", items: dict[int, int | None],
                         min_rating_x100: int | None = None,
                         min_completed_jobs: int | None = None) -> RequirementSet:
    """Create (rset None) or replace a set. `items`: credential type id -> min coverage cents."""
    firm_id = _owner_firm_id(actor)
    if rset is not None and rset.firm_id != firm_id:
        raise PermissionDenied("You cannot change this requirement set.")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "Give the requirement set a name.")
    allowed = _visible_types(firm_id)
    for type_id, cents in items.items():
        if type_id not in allowed:
            raise ValidationFailed.field("items", "Pick credential types from the list.")
        if cents is not None and cents < 0:
            raise ValidationFailed.field("items", "Minimum coverage cannot be negative.")
    before = None
    if rset is None:
        rset = RequirementSet(firm_id=firm_id)
        db.session.add(rset)
    else:
        before = {"name": rset.name,
                  "items": {str(i.credential_type_id): i.min_coverage_cents for i in rset.items}}
    rset.name, rset.description = name, description or ""
    rset.min_rating_x100, rset.min_completed_jobs = min_rating_x100, min_completed_jobs
    existing = {i.credential_type_id: i for i in rset.items}
    for type_id, item in existing.items():
        if type_id not in items:
            rset.items.remove(item)
    for type_id, cents in items.items():
        if type_id in existing:
            existing[type_id].min_coverage_cents = cents
        else:
            rset.items.append(RequirementItem(credential_type_id=type_id,
                                              min_coverage_cents=cents))
    db.session.flush()
    audit.record(Action.REQUIREMENT_SET_SAVED, rset, actor=actor, firm_id=firm_id, before=before,
                 after={"name": name, "items": {str(k): v for k, v in items.items()}})
    return rset


def delete_requirement_set(actor: User, rset: RequirementSet) -> None:
    if not can_edit_set(actor, rset):
        raise PermissionDenied("You cannot delete this requirement set.")
    audit.record(Action.REQUIREMENT_SET_DELETED, rset, actor=actor, firm_id=rset.firm_id,
                 before={"name": rset.name})
    db.session.delete(rset)
    db.session.flush()


def list_requirement_sets(viewer: User) -> list[RequirementSet]:
    """Platform sets and the viewer's firm's sets."""
    stmt = select(RequirementSet)
    if viewer.is_firm_user:
        stmt = stmt.where(or_(RequirementSet.firm_id.is_(None),
                              RequirementSet.firm_id == firm_id_of(viewer)))
    else:
        stmt = stmt.where(RequirementSet.firm_id.is_(None))
    return list(db.session.scalars(stmt.order_by(RequirementSet.firm_id.is_not(None),
                                                 RequirementSet.name)))


def access_requirement_set(user: User, set_id: int, *, edit: bool = False) -> RequirementSet:
    rset = db.session.get(RequirementSet, set_id)
    if rset is None:
        raise NotFound()
    if edit and not can_edit_set(user, rset):
        raise NotFound()
    if rset.firm_id is not None and not is_member(user, rset.firm_id):
        raise NotFound()
    return rset
