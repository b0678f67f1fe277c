"""Dashboard panels verify contributes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..core import clock
from ..extensions import db
from .models import Credential, CredentialStatus


def technician_credentials(user: User) -> dict:
    tech = user.technician
    today = clock.today()
    creds = list(db.session.scalars(select(Credential).where(
        Credential.technician_id == tech.id,
        Credential.status.in_([CredentialStatus.APPROVED, CredentialStatus.EXPIRED,
                               CredentialStatus.NEEDS_INFO, CredentialStatus.REJECTED,
                               CredentialStatus.PENDING]))
        .options(joinedload(Credential.credential_type))
        .order_by(Credential.expires_on.nulls_last())))
    return {
        "expiring": [c for c in creds if c.status == CredentialStatus.APPROVED and c.expires_on
                     and c.expires_on <= today + timedelta(days=30)],
        "expired": [c for c in creds if c.status == CredentialStatus.EXPIRED],
        "attention": [c for c in creds if c.status in (CredentialStatus.NEEDS_INFO,
                                                       CredentialStatus.REJECTED)],
        "approved": sum(1 for c in creds if c.status == CredentialStatus.APPROVED),
        "tech": tech,
    }


def review_counts(user: User) -> dict:
    pending = db.session.scalar(select(func.count()).select_from(Credential).where(
        Credential.status == CredentialStatus.PENDING)) or 0
    oldest = db.session.scalar(select(func.min(Credential.submitted_at)).where(
        Credential.status == CredentialStatus.PENDING))
    return {"pending": pending, "oldest": oldest}
