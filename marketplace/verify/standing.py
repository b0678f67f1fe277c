"""A platform admin suspends a technician by hand, or reinstates them, with a reason.

The sweep already suspends technicians left with no valid credential, and approving
a renewal reinstates them (verify.expiry, verify.submissions). A manual reinstatement
keeps that rule: someone whose credentials have all lapsed stays suspended until a
renewal is approved, whoever suspended them. Both are audited under their own action
names, tell the technician, and send `technician_changed` (set_technician_status), so
matching drops or takes back the technician at once.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..accounts.models import TechnicianProfile, TechnicianStatus, User
from ..accounts.services import set_technician_status
from ..core import clock
from ..core.actions import Action
from ..core.links import path_for
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..notifications.services import notify
from .expiry import left_without_valid_credential
from .models import Credential, CredentialStatus, CredentialType

MAX_REASON = 300


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied("Only platform admins suspend or reinstate technicians.")


def _reason(reason: str | None, what: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed.field("reason", f"Say why: the technician reads it {what}.")
    if len(reason) > MAX_REASON:
        raise ValidationFailed.field("reason", f"Keep the reason under {MAX_REASON} characters.")
    return reason


def can_suspend(user: User, tech: TechnicianProfile) -> bool:
    return user.is_admin and tech.status == TechnicianStatus.ACTIVE


def can_reinstate(user: User, tech: TechnicianProfile) -> bool:
    return user.is_admin and tech.status == TechnicianStatus.SUSPENDED


def reinstate_blocker(tech: TechnicianProfile, on: date | None = None) -> str | None:
    """Why the technician cannot be reinstated on `on` (None: they can): every
    credential they held has lapsed, which the sweep suspends for."""
    on = on or clock.today()
    if not left_without_valid_credential(tech.id, on):
        return None
    lapsed = db.session.execute(
        select(CredentialType.name, Credential.expires_on)
        .join(CredentialType, CredentialType.id == Credential.credential_type_id)
        .where(Credential.technician_id == tech.id,
               Credential.status.in_([CredentialStatus.APPROVED, CredentialStatus.EXPIRED]))
        .order_by(Credential.expires_on.desc(), CredentialType.name).limit(3)).all()
    detail = "; ".join(f"{name} expired {expires.isoformat()}" if expires else name
                       for name, expires in lapsed)
    return (f"None of their credentials is valid today ({detail}). Approve a renewal "
            "first: that reinstates them.")


def suspend_technician(admin: User, tech: TechnicianProfile, reason: str) -> TechnicianProfile:
    """Take an active technician off all new work until an admin reinstates them."""
    _require_admin(admin)
    reason = _reason(reason, "in their notice")
    if tech.status != TechnicianStatus.ACTIVE:
        raise InvalidState(f"{tech.name} is already {tech.status.value}.")
    set_technician_status(admin, tech, TechnicianStatus.SUSPENDED, reason,
                          action=Action.TECHNICIAN_SUSPENDED)
    notify(tech.user, "technician.suspended", "Your account is suspended",
           f"You cannot take new work until the platform reinstates you.\nReason: {reason}",
           link=path_for("verify.my_credentials"))
    return tech


def reinstate_technician(admin: User, tech: TechnicianProfile, reason: str) -> TechnicianProfile:
    """Lift a suspension, unless the technician has no valid credential left."""
    _require_admin(admin)
    reason = _reason(reason, "in the audit log")
    if tech.status != TechnicianStatus.SUSPENDED:
        raise InvalidState(f"{tech.name} is not suspended.")
    blocker = reinstate_blocker(tech)
    if blocker:
        raise InvalidState(blocker)
    set_technician_status(admin, tech, TechnicianStatus.ACTIVE, None,
                          action=Action.TECHNICIAN_REINSTATED, note=reason)
    notify(tech.user, "technician.reinstated", "You are reinstated",
           "You can take work again.", link=path_for("verify.my_credentials"))
    return tech
