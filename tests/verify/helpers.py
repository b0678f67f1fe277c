"""Small files and builders shared by the verify tests."""
from __future__ import annotations

from datetime import date

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.verify.models import (Credential, CredentialKind, CredentialStatus,
                                       CredentialType)
from tests import files

# Real (tiny) documents: uploads are decoded in full, not sniffed (tests/files.py).
PDF = files.pdf()
PNG = files.png()
JPEG = files.jpeg()


def ctype(name: str = "General liability insurance", kind=CredentialKind.INSURANCE,
          expires: bool = True, requires_document: bool = False, firm_id=None) -> CredentialType:
    t = CredentialType(name=name, kind=kind, expires=expires,
                       requires_document=requires_document, firm_id=firm_id)
    db.session.add(t)
    db.session.commit()
    return t


def approved(tech_user: User, t: CredentialType, expires_on: date | None,
             coverage_cents: int | None = 100_000_000) -> Credential:
    c = Credential(technician_id=tech_user.technician.id, credential_type_id=t.id,
                   expires_on=expires_on, coverage_cents=coverage_cents,
                   status=CredentialStatus.APPROVED)
    db.session.add(c)
    db.session.commit()
    return c


def work_with(owner: User, tech_user: User):
    """Make owner's firm one that works with the technician: an invitation to its pool,
    accepted."""
    from marketplace.find import pools
    from marketplace.find.models import PoolMember, PoolMemberStatus
    pool = pools.create_pool(owner, name="Regulars", visibility="private")
    member = PoolMember(pool_id=pool.id, technician_id=tech_user.technician.id,
                        status=PoolMemberStatus.ACTIVE)
    db.session.add(member)
    db.session.commit()
    return member
