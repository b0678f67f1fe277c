"""Dashboard panels that accounts contributes to the three home pages."""
from __future__ import annotations

from sqlalchemy import func, select

from ..core import clock
from ..extensions import db
from .models import (
    AccountKind,
    Firm,
    FirmVerification,
    Invitation,
    Membership,
    TechnicianProfile,
    TechnicianStatus,
    User,
)


def technician_profile(user: User) -> dict:
    tech = user.technician
    steps = [("Home ZIP code", tech.has_location), ("At least one skill", bool(tech.skills)),
             ("Headline", bool(tech.headline)), ("Mobile phone", bool(tech.phone))]
    done = sum(1 for _, ok in steps if ok)
    return {"steps": steps, "percent": round(100 * done / len(steps)), "tech": tech}


def firm_team(user: User) -> dict:
    firm_id = user.membership.firm_id
    members = db.session.scalar(select(func.count()).select_from(Membership)
                                .where(Membership.firm_id == firm_id)) or 0
    pending = db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.firm_id == firm_id, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > clock.now())) or 0
    return {"members": members, "pending_invitations": pending,
            "role": user.membership.role, "budget_limit_cents": user.membership.budget_limit_cents}


def platform_counts(user: User) -> dict:
    firms = dict(db.session.execute(select(Firm.verification_status, func.count())
                                    .group_by(Firm.verification_status)).all())
    techs = dict(db.session.execute(select(TechnicianProfile.status, func.count())
                                    .group_by(TechnicianProfile.status)).all())
    users = db.session.scalar(select(func.count()).select_from(User)
                              .where(User.kind != AccountKind.ADMIN)) or 0
    return {"firms_total": sum(firms.values()),
            "firms_pending": firms.get(FirmVerification.PENDING, 0),
            "techs_active": techs.get(TechnicianStatus.ACTIVE, 0),
            "techs_suspended": techs.get(TechnicianStatus.SUSPENDED, 0)
            + techs.get(TechnicianStatus.OFFBOARDED, 0),
            "users": users}
