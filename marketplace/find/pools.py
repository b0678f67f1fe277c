"""Talent pools: create, invite, apply, join, remove; kept compliant with their requirement set."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..accounts.models import TechnicianProfile, TechnicianStatus, User
from ..accounts.policy import require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.sets import chunks, in_ids
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..notifications.services import notify
from ..verify import compliance
from ..verify.models import RequirementItem, RequirementSet
from . import directory
from .models import PoolMember, PoolMemberStatus, PoolVisibility, TalentPool

LAPSED = "lapsed"  # a member removed because a credential the pool requires lapsed
LAPSED_APPLICATION = "lapsed_application"  # an application withdrawn for the same reason
LEFT = "left"  # the technician left (or withdrew an application) themselves
FIRM = "firm"
_LAPSES = {LAPSED: PoolMemberStatus.ACTIVE, LAPSED_APPLICATION: PoolMemberStatus.APPLIED}
REMOVAL_LABELS = {LAPSED: "credential lapsed",
                  LAPSED_APPLICATION: "application withdrawn: credential lapsed",
                  LEFT: "left the pool", FIRM: "by the firm"}


def removal_label(reason: str | None) -> str:
    """What a removal reason reads as on the firm's pool page."""
    return REMOVAL_LABELS.get(reason or "", (reason or FIRM).replace("_", " "))


def _firm_id(user: User) -> int:
    return require_member(user, message="Only firm members manage pools.").firm_id


def _check_set(firm_id: int, requirement_set_id: int | None) -> None:
    if requirement_set_id is None:
        return
    rs = db.session.get(RequirementSet, requirement_set_id)
    if rs is None or rs.firm_id not in (None, firm_id):
        raise ValidationFailed.field("requirement_set_id", "Choose one of your requirement sets.")


def create_pool(user: User, *, name: str, description: str = "",
                visibility: str = "private", requirement_set_id: int | None = None) -> TalentPool:
    firm_id = _firm_id(user)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "Give the pool a name.")
    try:
        vis = PoolVisibility(visibility)
    except ValueError:
        raise ValidationFailed.field("visibility", "Choose public, invite-only or private.")
    _check_set(firm_id, requirement_set_id)
    pool = TalentPool(firm_id=firm_id, name=name[:120], description=description or "",
                      visibility=vis, requirement_set_id=requirement_set_id)
    db.session.add(pool)
    db.session.flush()
    return pool


def _member(pool: TalentPool, technician_id: int) -> PoolMember | None:
    return db.session.scalar(select(PoolMember).where(PoolMember.pool_id == pool.id,
                                                      PoolMember.technician_id == technician_id))


def _require_compliant(pool: TalentPool, technician_id: int) -> None:
    result = compliance.check(technician_id, pool.requirement_set_id, clock.today())
    if not result.compliant:
        raise ValidationFailed("Does not meet the pool's requirements: "
                               + " ".join(result.failures),
                               fields={"technician_id": " ".join(result.failures)})


def _set_status(pool: TalentPool, technician_id: int, status: PoolMemberStatus) -> PoolMember:
    member = _member(pool, technician_id)
    if member is None:
        member = PoolMember(pool_id=pool.id, technician_id=technician_id, status=status)
        db.session.add(member)
    else:
        member.status = status
        member.removed_reason = None
        member.removed_credential_type_id = None
    db.session.flush()
    return member


def _findable(user: User, technician_id: int) -> None:
    """A technician the firm may find; anyone else is answered exactly like a missing id."""
    if technician_id not in directory.visible_ids(user, [technician_id]):
        raise ValidationFailed.field("technician_id", "No such technician.")


def add_member(user: User, pool: TalentPool, technician_id: int) -> PoolMember:
    """The firm adds a technician: checked against the requirement set now, and an
    invitation they accept (nobody joins a pool, or shares their credentials with its
    firm, without saying yes)."""
    _findable(user, technician_id)
    _require_compliant(pool, technician_id)
    return _invite(user, pool, technician_id)


def invite(user: User, pool: TalentPool, technician_id: int) -> PoolMember:
    _findable(user, technician_id)
    return _invite(user, pool, technician_id)


def _invite(user: User, pool: TalentPool, technician_id: int) -> PoolMember:
    member = _member(pool, technician_id)
    if member is not None and member.status == PoolMemberStatus.ACTIVE:
        raise InvalidState("Already a member.")
    member = _set_status(pool, technician_id, PoolMemberStatus.INVITED)
    audit.record(Action.POOL_MEMBER_INVITED, member, actor=user, firm_id=pool.firm_id)
    notify(member.technician.user, "pool.invited", f"{pool.firm.name} invites you to {pool.name}",
           "Accept to hear of their work first; they see your credentials only once you "
           "accept.", link=path_for("find.my_pools"))
    return member


def _require_active(technician: TechnicianProfile) -> None:
    if technician.status != TechnicianStatus.ACTIVE:
        raise PermissionDenied(technician.status_reason or
                               f"Your account is {technician.status.value}; you cannot join "
                               "pools until it is active again.")


def apply(technician: TechnicianProfile, pool: TalentPool) -> PoolMember:
    _require_active(technician)
    if pool.visibility != PoolVisibility.PUBLIC:
        raise PermissionDenied("This pool takes members by invitation only.")
    member = _member(pool, technician.id)
    if member is not None and member.status in (PoolMemberStatus.ACTIVE,
                                                 PoolMemberStatus.APPLIED):
        raise InvalidState("You have already applied to or joined this pool.")
    _require_compliant(pool, technician.id)
    return _set_status(pool, technician.id, PoolMemberStatus.APPLIED)


def accept_invitation(technician: TechnicianProfile, pool: TalentPool) -> PoolMember:
    member = _member(pool, technician.id)
    if member is None or member.status != PoolMemberStatus.INVITED:
        raise InvalidState("There is no invitation to accept.")
    _require_active(technician)
    _require_compliant(pool, technician.id)
    member = _set_status(pool, technician.id, PoolMemberStatus.ACTIVE)
    audit.record(Action.POOL_MEMBER_ADDED, member, actor=technician.user_id, firm_id=pool.firm_id)
    return member


def join(technician: TechnicianProfile, pool: TalentPool) -> PoolMember:
    """Accept an invitation if there is one, else apply (public pools only)."""
    member = _member(pool, technician.id)
    if member is not None and member.status == PoolMemberStatus.INVITED:
        return accept_invitation(technician, pool)
    return apply(technician, pool)


def decline_invitation(technician: TechnicianProfile, member: PoolMember) -> PoolMember:
    if member.technician_id != technician.id or member.status != PoolMemberStatus.INVITED:
        raise InvalidState("There is no invitation to decline.")
    member.status = PoolMemberStatus.DECLINED
    db.session.flush()
    return member


def leave(technician: TechnicianProfile, member: PoolMember) -> PoolMember:
    """The technician leaves a pool, or withdraws an application."""
    if member.technician_id != technician.id or \
            member.status not in (PoolMemberStatus.ACTIVE, PoolMemberStatus.APPLIED):
        raise InvalidState("You are not in this pool.")
    member.status = PoolMemberStatus.REMOVED
    member.removed_reason = LEFT
    member.removed_credential_type_id = None
    db.session.flush()
    audit.record(Action.POOL_MEMBER_LEFT, member, actor=technician.user_id,
                 firm_id=member.pool.firm_id)
    return member


def list_members(pool: TalentPool) -> list[PoolMember]:
    """A pool's members (and invitations, applications, removals) with their names."""
    return list(db.session.scalars(
        select(PoolMember).where(PoolMember.pool_id == pool.id)
        .options(joinedload(PoolMember.technician).joinedload(TechnicianProfile.user))
        .order_by(PoolMember.status, PoolMember.id)))


@dataclass
class TechnicianPools:
    """What a technician's pools page shows."""
    invitations: list[PoolMember]
    memberships: list[PoolMember]     # active or applied
    open_pools: list[TalentPool]      # public pools they are not in and can apply to


def pools_for_technician(technician: TechnicianProfile) -> TechnicianPools:
    rows = db.session.scalars(select(PoolMember).where(
        PoolMember.technician_id == technician.id)
        .options(joinedload(PoolMember.pool).joinedload(TalentPool.firm))
        .order_by(PoolMember.updated_at.desc(), PoolMember.id.desc())).all()
    taken = {m.pool_id for m in rows if m.status in (PoolMemberStatus.ACTIVE,
                                                     PoolMemberStatus.APPLIED,
                                                     PoolMemberStatus.INVITED)}
    public = db.session.scalars(select(TalentPool).where(
        TalentPool.visibility == PoolVisibility.PUBLIC)
        .options(joinedload(TalentPool.firm)).order_by(TalentPool.name)).all()
    return TechnicianPools(
        invitations=[m for m in rows if m.status == PoolMemberStatus.INVITED],
        memberships=[m for m in rows if m.status in (PoolMemberStatus.ACTIVE,
                                                     PoolMemberStatus.APPLIED)],
        open_pools=[p for p in public if p.id not in taken])


def approve_application(user: User, pool: TalentPool, technician_id: int) -> PoolMember:
    member = _member(pool, technician_id)
    if member is None or member.status != PoolMemberStatus.APPLIED:
        raise InvalidState("There is no application to approve.")
    _require_compliant(pool, technician_id)
    return _set_status(pool, technician_id, PoolMemberStatus.ACTIVE)


def remove_member(user: User, pool: TalentPool, technician_id: int) -> PoolMember:
    member = _member(pool, technician_id)
    if member is None or member.status == PoolMemberStatus.REMOVED:
        raise InvalidState("Not a member.")
    member.status = PoolMemberStatus.REMOVED
    member.removed_reason = FIRM
    db.session.flush()
    return member


def active_member_ids(pool: TalentPool) -> list[int]:
    return list(db.session.scalars(select(PoolMember.technician_id).where(
        PoolMember.pool_id == pool.id, PoolMember.status == PoolMemberStatus.ACTIVE)))


# --- kept in step with verify (signal subscribers) ---------------------------------

def remove_lapsed_members(pairs: Iterable[tuple[int, int]], on: date) -> int:
    """Set-based: drop active members whose pool requires a credential type that lapsed,
    unless another credential still keeps them compliant with the pool's set, and withdraw
    pending applications the same way (the firm could not approve them any more; a
    renewal puts them back in the firm's queue)."""
    lapsed = set(pairs)
    if not lapsed:
        return 0
    types = sorted({ctype for _, ctype in lapsed})
    hits: dict[int, tuple[PoolMember, int, int]] = {}
    for part in chunks(sorted({tid for tid, _ in lapsed})):
        rows = db.session.execute(
            select(PoolMember, RequirementItem.credential_type_id, TalentPool.requirement_set_id)
            .join(TalentPool, TalentPool.id == PoolMember.pool_id)
            .join(RequirementItem, RequirementItem.requirement_set_id ==
                  TalentPool.requirement_set_id)
            .where(in_ids(PoolMember.technician_id, part),
                   RequirementItem.credential_type_id.in_(types),
                   PoolMember.status.in_(tuple(_LAPSES.values())))
            .order_by(PoolMember.id, RequirementItem.credential_type_id)).all()
        for member, ctype, set_id in rows:
            if (member.technician_id, ctype) in lapsed and member.id not in hits:
                hits[member.id] = (member, ctype, set_id)
    by_set: dict[int, set[int]] = {}
    for member, _, set_id in hits.values():
        by_set.setdefault(set_id, set()).add(member.technician_id)
    still_ok = {set_id: compliance.compliant_ids(set_id, on, sorted(tids))
                for set_id, tids in by_set.items()}
    removed = 0
    gone: dict[int, list[dict]] = {}
    for member, ctype, set_id in hits.values():
        ok = still_ok[set_id]
        if ok is not None and member.technician_id in ok:
            continue  # another credential of that type still covers them
        reason = LAPSED if member.status == PoolMemberStatus.ACTIVE else LAPSED_APPLICATION
        member.status = PoolMemberStatus.REMOVED
        member.removed_reason = reason
        member.removed_credential_type_id = ctype
        removed += 1
        gone.setdefault(member.pool.firm_id, []).append(
            {"subject_id": member.id, "after": {"status": "removed", "reason": reason,
                                                 "credential_type_id": ctype}})
    db.session.flush()
    for firm_id, rows in gone.items():
        audit.record_many(Action.POOL_MEMBER_REMOVED, "pool_members", rows, firm_id=firm_id)
    return removed


def reinstate_members(technician_id: int, credential_type_id: int) -> int:
    """Put back members removed for a lapse, wherever they are compliant again (and
    applications withdrawn for one back in the firm's queue)."""
    rows = db.session.scalars(select(PoolMember).where(
        PoolMember.technician_id == technician_id, PoolMember.status == PoolMemberStatus.REMOVED,
        PoolMember.removed_reason.in_(tuple(_LAPSES)))).all()
    back = 0
    for member in rows:
        ok = compliance.compliant_ids(member.pool.requirement_set_id, clock.today(),
                                      [technician_id])
        if ok is None or technician_id in ok:
            member.status = _LAPSES[member.removed_reason]
            member.removed_reason = None
            member.removed_credential_type_id = None
            back += 1
            audit.record(Action.POOL_MEMBER_REINSTATED, member, firm_id=member.pool.firm_id,
                         after={"status": member.status.value,
                                "credential_type_id": credential_type_id})
            if member.status == PoolMemberStatus.ACTIVE:
                title = f"You are back in {member.pool.name}"
            else:
                title = f"Your application to {member.pool.name} is back with the firm"
            notify(member.technician.user, "pool.reinstated", title,
                   f"Your renewed credential meets {member.pool.firm.name}'s requirements "
                   "again.", link=path_for("find.my_pools"))
    db.session.flush()
    return back
