"""Firms are verified too: legal name, EIN and business address, reviewed by an admin."""
from __future__ import annotations

import re

from sqlalchemy import select

from ..accounts.models import Firm, FirmVerification, Membership, Role, User
from ..accounts.policy import is_member, require_member
from ..core import audit
from ..core.actions import Action
from ..core.links import path_for
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..notifications.services import notify

EIN = re.compile(r"^\d{2}-?\d{7}$")


def can_submit_details(user: User) -> bool:
    """Only a firm's owners send (and change) its legal details."""
    return is_member(user, None, Role.OWNER)


def submit_firm_details(actor: User, *, legal_name: str, ein: str, address_line: str,
                        city: str, state: str, postal_code: str) -> Firm:
    """The owner sends the firm's legal details; changing them means a new review."""
    require_member(actor, None, Role.OWNER,
                   message="Only the firm's owner can submit its legal details.")
    firm = actor.firm
    fields = {}
    legal_name, address_line, city = (legal_name or "").strip(), (address_line or "").strip(), \
        (city or "").strip()
    ein, state, postal_code = (ein or "").strip(), (state or "").strip().upper(), \
        (postal_code or "").strip()
    if not legal_name:
        fields["legal_name"] = "Give the legal name exactly as registered."
    if not EIN.match(ein):
        fields["ein"] = "An EIN has nine digits, like 12-3456789."
    if not address_line:
        fields["address_line"] = "Give the business street address."
    if not city:
        fields["city"] = "Give the city."
    if not re.fullmatch(r"[A-Z]{2}", state):
        fields["state"] = "Use the two-letter state code, like TX."
    if not re.fullmatch(r"\d{5}", postal_code):
        fields["postal_code"] = "Use a five-digit ZIP code."
    if fields:
        raise ValidationFailed("Some details need fixing.", fields=fields)
    ein = ein.replace("-", "")
    ein = f"{ein[:2]}-{ein[2:]}"
    before = {"legal_name": firm.legal_name, "ein": firm.ein,
              "status": firm.verification_status.value}
    firm.legal_name, firm.ein, firm.address_line = legal_name, ein, address_line
    firm.city, firm.state, firm.postal_code = city, state, postal_code
    firm.verification_status = FirmVerification.PENDING
    audit.record(Action.FIRM_VERIFICATION_SUBMITTED, firm, actor=actor, firm_id=firm.id,
                 before=before, after={"legal_name": legal_name, "ein": ein, "status": "pending"})
    return firm


def review_firm(admin: User, firm: Firm, *, approve: bool, reason: str = "") -> Firm:
    if not admin.is_admin:
        raise PermissionDenied("Only platform admins verify firms.")
    if firm.verification_status != FirmVerification.PENDING:
        raise InvalidState("This firm is not waiting for review.")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationFailed.field("reason", "Tell the firm what to fix.")
    firm.verification_status = FirmVerification.VERIFIED if approve else FirmVerification.REJECTED
    audit.record(Action.FIRM_VERIFIED if approve else "firm.verification_rejected", firm, actor=admin,
                 firm_id=firm.id, before={"status": "pending"},
                 after={"status": firm.verification_status.value, "reason": reason or None})
    owners = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                .where(Membership.firm_id == firm.id,
                                       Membership.role == Role.OWNER))
    for owner in owners:
        if approve:
            notify(owner, "firm.verified", "Your firm is verified",
                   "Technicians now see the verified-firm badge on your work.",
                   link=path_for("verify.firm_details"))
        else:
            notify(owner, "firm.verification_rejected", "Firm verification needs changes",
                   f"Reason: {reason}", link=path_for("verify.firm_details"))
    return firm


def pending_firms() -> list[Firm]:
    return list(db.session.scalars(select(Firm).where(
        Firm.verification_status == FirmVerification.PENDING).order_by(Firm.created_at, Firm.id)))


def access_firm_for_review(user: User, firm_id: int) -> Firm:
    firm = db.session.get(Firm, firm_id)
    if firm is None or not user.is_admin:
        raise NotFound()
    return firm
