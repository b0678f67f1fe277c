"""Account operations: sign-up, sign-in, invitations, members, profiles.

Plain functions over plain values. They add and flush; the caller commits.
"""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..core import audit, clock, outbox
from ..core.actions import Action
from ..core.links import external_url
from ..core.signals import technician_changed
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from .models import (
    AccountKind,
    Firm,
    Invitation,
    Membership,
    Role,
    Skill,
    SkillLevel,
    TechnicianProfile,
    TechnicianSkill,
    TechnicianStatus,
    User,
    with_role,
)
from .policy import MANAGERS, require_member
from .tokens import hash_token

MIN_PASSWORD = 10
# A fixed hash to compare against when the email is unknown, so that timing
# does not tell an attacker which addresses have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed.field(field, str(exc)) from None


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed.field(field, f"Use at least {MIN_PASSWORD} characters.")
    if password.lower() == password and password.isalpha():
        raise ValidationFailed.field(field, "Mix in a digit, capital or symbol.")


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise ValidationFailed.field("email", "An account with this email already exists.")


def _new_user(email: str, name: str, password: str, kind: AccountKind) -> User:
    email = normalise_email(email)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "Tell us your name.")
    check_password_strength(password)
    _ensure_email_free(email)
    user = User(email=email, name=name, kind=kind,
                password_hash=generate_password_hash(password))
    db.session.add(user)
    return user


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100] or "firm"


def _unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while db.session.scalar(select(Firm.id).where(Firm.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def register_firm(*, firm_name: str, owner_name: str, email: str, password: str,
                  industry: str | None = None, timezone: str = "America/Chicago") -> User:
    """Sign-up as a firm: creates the firm (tenant) and its owner."""
    firm_name = (firm_name or "").strip()
    if not firm_name:
        raise ValidationFailed.field("firm_name", "Name your firm.")
    user = _new_user(email, owner_name, password, AccountKind.FIRM)
    firm = Firm(name=firm_name, slug=_unique_slug(firm_name), industry=industry,
                timezone=timezone)
    db.session.add(firm)
    db.session.flush()
    db.session.add(Membership(user=user, firm=firm, role=Role.OWNER))
    db.session.flush()
    audit.record(Action.FIRM_REGISTERED, firm, actor=user, firm_id=firm.id,
                 after={"name": firm.name, "owner": user.email})
    return user


def register_technician(*, name: str, email: str, password: str,
                        postal_code: str | None = None) -> User:
    """Sign-up as a technician. Location comes from the ZIP code when given."""
    user = _new_user(email, name, password, AccountKind.TECHNICIAN)
    profile = TechnicianProfile(user=user, availability=default_availability())
    db.session.add(profile)
    if postal_code:
        _apply_location(profile, postal_code)
    db.session.flush()
    audit.record(Action.TECHNICIAN_REGISTERED, profile, actor=user, after={"email": user.email})
    return user


def default_availability() -> dict:
    return {d: d not in ("sat", "sun") for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def create_admin(*, email: str, name: str, password: str) -> User:
    """Platform admins exist only through the CLI, never through sign-up."""
    user = _new_user(email, name, password, AccountKind.ADMIN)
    db.session.flush()
    audit.record(Action.ADMIN_CREATED, user, after={"email": user.email})
    return user


def authenticate(email: str, password: str) -> User:
    try:
        email = normalise_email(email)
    except ValidationFailed:
        email = ""
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise ValidationFailed("Email or password is not right.",
                               fields={"password": "Email or password is not right."})
    if not check_password_hash(user.password_hash, password or ""):
        raise ValidationFailed("Email or password is not right.",
                               fields={"password": "Email or password is not right."})
    if not user.is_enabled:
        raise PermissionDenied("This account is disabled. Contact support.")
    user.last_login_at = clock.now()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationFailed.field("current_password", "That is not your current password.")
    check_password_strength(new, "new_password")
    user.password_hash = generate_password_hash(new)
    end_sessions(user)
    audit.record(Action.USER_PASSWORD_CHANGED, user, actor=user)


def end_sessions(user: User) -> None:
    """Every session and remember-me cookie issued to the user stops working.

    Both carry `get_id()`, `<id>:<session_version>`; the loader accepts only the
    current version. Used at sign-out (a cookie captured earlier must not outlive
    it), on a password change and when a member is removed."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["session_version"])


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader for the session and the remember-me cookie:
    `<id>:<session_version>`, so sessions ended by `end_sessions` stay ended."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id, options=with_role())
    if user is None or user.session_version != version:
        return None
    return user


# -- firm members and invitations -------------------------------------------

def _require_firm_admin(actor: User) -> Membership:
    require_member(actor, message="Only firm members can do that.")
    return require_member(actor, None, *MANAGERS,
                          message="Only owners and managers manage the team.")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed.field("role", "Choose owner, manager or dispatcher.") from None


def invite_member(actor: User, *, email: str, role: str,
                  budget_limit_cents: int | None = None) -> tuple[Invitation, str]:
    """Invite someone to the actor's firm by email link. Returns the raw token once."""
    membership = _require_firm_admin(actor)
    role_value = parse_role(role)
    if role_value == Role.OWNER and membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can invite another owner.")
    if budget_limit_cents is not None and budget_limit_cents < 0:
        raise ValidationFailed.field("budget_limit", "A budget limit cannot be negative.")
    if role_value != Role.DISPATCHER:
        budget_limit_cents = None
    email = normalise_email(email)
    _ensure_email_free(email)
    pending = db.session.scalar(select(Invitation).where(
        Invitation.firm_id == membership.firm_id, Invitation.email == email,
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > clock.now()))
    if pending:
        raise ValidationFailed.field("email", "This person already has a pending invitation.")
    raw = secrets.token_urlsafe(32)
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    invitation = Invitation(firm_id=membership.firm_id, email=email, role=role_value,
                            budget_limit_cents=budget_limit_cents, token_hash=hash_token(raw),
                            invited_by_id=actor.id, expires_at=clock.now() + ttl)
    db.session.add(invitation)
    db.session.flush()
    audit.record(Action.MEMBER_INVITED, invitation, actor=actor, firm_id=membership.firm_id,
                 after={"email": email, "role": role_value.value,
                        "budget_limit_cents": budget_limit_cents})
    link = external_url("accounts.accept_invitation", token=raw)
    outbox.enqueue("email", {
        "to": email, "subject": f"{membership.firm.name} invited you to Onsite",
        "body": f"{actor.name} invited you to join {membership.firm.name} as "
                f"{role_value.label}.\n\nAccept within {ttl.days} days: {link}\n"},
        subject="invitation")
    return invitation, raw


def get_invitation_by_token(raw: str) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.token_hash == hash_token(raw or "")))
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation.status != "pending":
        raise InvalidState(f"This invitation is {invitation.status}.")
    return invitation


def accept_invitation(raw: str, *, name: str, password: str) -> User:
    invitation = get_invitation_by_token(raw)
    user = _new_user(invitation.email, name, password, AccountKind.FIRM)
    db.session.add(Membership(user=user, firm_id=invitation.firm_id, role=invitation.role,
                              budget_limit_cents=invitation.budget_limit_cents))
    invitation.accepted_at = clock.now()
    db.session.flush()
    audit.record(Action.MEMBER_JOINED, invitation, actor=user, firm_id=invitation.firm_id,
                 after={"email": user.email, "role": invitation.role.value})
    return user


def revoke_invitation(actor: User, invitation: Invitation) -> None:
    _require_firm_admin(actor)
    if invitation.status != "pending":
        raise InvalidState(f"This invitation is already {invitation.status}.")
    invitation.revoked_at = clock.now()
    audit.record(Action.MEMBER_INVITATION_REVOKED, invitation, actor=actor,
                 firm_id=invitation.firm_id)


def update_member(actor: User, member: Membership, *, role: str,
                  budget_limit_cents: int | None) -> None:
    mine = _require_firm_admin(actor)
    new_role = parse_role(role)
    if Role.OWNER in (new_role, member.role) and mine.role != Role.OWNER:
        raise PermissionDenied("Only an owner can change an owner's role or make an owner.")
    if member.role == Role.OWNER and new_role != Role.OWNER and _owner_count(member.firm_id) == 1:
        raise InvalidState("A firm needs at least one owner.")
    if budget_limit_cents is not None and budget_limit_cents < 0:
        raise ValidationFailed.field("budget_limit", "A budget limit cannot be negative.")
    before = {"role": member.role.value, "budget_limit_cents": member.budget_limit_cents}
    member.role = new_role
    member.budget_limit_cents = budget_limit_cents if new_role == Role.DISPATCHER else None
    audit.record(Action.MEMBER_UPDATED, member, actor=actor, firm_id=member.firm_id, before=before,
                 after={"role": new_role.value, "budget_limit_cents": member.budget_limit_cents})


def remove_member(actor: User, member: Membership) -> None:
    mine = _require_firm_admin(actor)
    if member.user_id == actor.id:
        raise InvalidState("You cannot remove yourself.")
    if member.role == Role.OWNER and mine.role != Role.OWNER:
        raise PermissionDenied("Only an owner can remove an owner.")
    user = member.user
    audit.record(Action.MEMBER_REMOVED, member, actor=actor, firm_id=member.firm_id,
                 before={"email": user.email, "role": member.role.value})
    user.is_enabled = False
    end_sessions(user)
    db.session.delete(member)


def _owner_count(firm_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.firm_id == firm_id, Membership.role == Role.OWNER)) or 0


def list_members(firm_id: int) -> list[Membership]:
    return list(db.session.scalars(select(Membership).where(Membership.firm_id == firm_id)
                                   .join(Membership.user).order_by(User.name)))


def list_invitations(firm_id: int) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(Invitation.firm_id == firm_id)
                                   .order_by(Invitation.created_at.desc())))


# -- technician profile ------------------------------------------------------

def _apply_location(profile: TechnicianProfile, postal_code: str) -> None:
    from ..integrations import geocoding
    place = geocoding.place_postal_code(postal_code, field="postal_code")
    profile.postal_code = place.postal_code
    profile.city, profile.state = place.city, place.state
    profile.lat, profile.lon, profile.timezone = place.lat, place.lon, place.timezone


def update_technician_profile(user: User, *, headline: str, bio: str, phone: str | None,
                              postal_code: str, travel_radius_km: int,
                              hourly_rate_cents: int, availability: dict) -> TechnicianProfile:
    profile = user.technician
    if profile is None:
        raise PermissionDenied("Only technicians have a profile.")
    if not 5 <= travel_radius_km <= 500:
        raise ValidationFailed.field("travel_radius_km", "Choose between 5 and 500 km.")
    if not 0 < hourly_rate_cents <= 100_000:
        raise ValidationFailed.field("hourly_rate", "Enter an hourly rate up to $1,000.")
    before = {"postal_code": profile.postal_code, "travel_radius_km": profile.travel_radius_km,
              "hourly_rate_cents": profile.hourly_rate_cents}
    if postal_code != profile.postal_code:
        _apply_location(profile, postal_code)
    profile.headline = headline.strip()[:140]
    profile.bio = bio.strip()
    profile.phone = (phone or "").strip() or None
    profile.travel_radius_km = travel_radius_km
    profile.hourly_rate_cents = hourly_rate_cents
    profile.availability = {d: bool(availability.get(d)) for d in default_availability()}
    db.session.flush()
    audit.record(Action.TECHNICIAN_PROFILE_UPDATED, profile, actor=user, before=before,
                 after={"postal_code": profile.postal_code,
                        "travel_radius_km": profile.travel_radius_km,
                        "hourly_rate_cents": profile.hourly_rate_cents})
    technician_changed.send(profile.id)
    return profile


def set_skills(user: User, levels: dict[int, int]) -> TechnicianProfile:
    """Replace the technician's skills with {skill_id: level}."""
    profile = user.technician
    if profile is None:
        raise PermissionDenied("Only technicians have skills.")
    known = set(db.session.scalars(select(Skill.id).where(Skill.id.in_(list(levels)))))
    unknown = set(levels) - known
    if unknown:
        raise ValidationFailed.field("skills", "Some of those skills do not exist.")
    for level in levels.values():
        if level not in {lvl.value for lvl in SkillLevel}:
            raise ValidationFailed.field("skills", "Skill levels run from 1 to 4.")
    before = {s.skill_id: s.level for s in profile.skills}
    current = {s.skill_id: s for s in profile.skills}
    for skill_id, row in current.items():
        if skill_id not in levels:
            profile.skills.remove(row)
    for skill_id, level in levels.items():
        if skill_id in current:
            current[skill_id].level = level
        else:
            profile.skills.append(TechnicianSkill(skill_id=skill_id, level=level))
    db.session.flush()
    audit.record(Action.TECHNICIAN_SKILLS_UPDATED, profile, actor=user,
                 before={"skills": {str(k): v for k, v in before.items()}},
                 after={"skills": {str(k): v for k, v in levels.items()}})
    technician_changed.send(profile.id)
    return profile


def set_technician_status(actor: User | None, profile: TechnicianProfile,
                          status: TechnicianStatus, reason: str | None, *,
                          action: Action = Action.TECHNICIAN_STATUS_CHANGED,
                          note: str | None = None) -> bool:
    """Returns False when nothing changed (so callers stay idempotent). `action` names
    the audit row (a manual suspension says so); `note` is why, when not the reason."""
    if profile.status == status and profile.status_reason == reason:
        return False
    before = {"status": profile.status.value, "reason": profile.status_reason}
    profile.status, profile.status_reason = status, reason
    profile.status_changed_at = clock.now()
    after = {"status": status.value, "reason": reason}
    if note:
        after["note"] = note
    audit.record(action, profile, actor=actor, before=before, after=after)
    technician_changed.send(profile.id)
    return True


def list_skills() -> list[Skill]:
    return list(db.session.scalars(select(Skill).order_by(Skill.category, Skill.name)))
