"""Demo credentials: the platform catalog, ~3 credentials per technician, requirement sets.

Some wait for review, some expire within 30 days, some have already expired,
so the review queue, reminders and the sweep all have something to show.
"""
from __future__ import annotations

import random
from datetime import timedelta

from ..core import clock
from ..extensions import db
from ..verify.models import (
    Credential,
    CredentialKind,
    CredentialStatus,
    CredentialType,
    RequirementItem,
    RequirementSet,
)

CATALOG = [
    # name, kind, issuing body, requires document, expires, default coverage (cents)
    ("General liability insurance", CredentialKind.INSURANCE, None, True, True, 100_000_000),
    ("OSHA 10", CredentialKind.CERTIFICATION, "OSHA Outreach Training Program", True, False, None),
    ("Low-voltage licence", CredentialKind.LICENCE, "State licensing board", True, True, None),
    ("Background check", CredentialKind.BACKGROUND_CHECK, "Checkr", False, True, None),
    ("Drug test", CredentialKind.DRUG_TEST, "Quest Diagnostics", False, True, None),
]


def seed(rng: random.Random, world: dict) -> dict:
    today = clock.today()
    types = {}
    for name, kind, body, doc, expires, coverage in CATALOG:
        t = CredentialType(name=name, kind=kind, issuing_body=body, requires_document=doc,
                           expires=expires, default_coverage_cents=coverage)
        db.session.add(t)
        types[name] = t
    firms = world.get("firms", [])
    if firms:
        types["Site-safety agreement"] = CredentialType(
            firm_id=firms[0].id, name="Site-safety agreement", kind=CredentialKind.AGREEMENT,
            description=f"{firms[0].name}'s signed site-safety rules.", requires_document=True,
            expires=True)
        db.session.add(types["Site-safety agreement"])
    db.session.flush()

    platform = [t for t in types.values() if t.firm_id is None]
    admin = world.get("admin")
    credentials = []
    for i, tech_user in enumerate(world.get("technicians", [])):
        tech = getattr(tech_user, "technician", None) or tech_user
        for ctype in rng.sample(platform, 3):
            roll = rng.random()
            if roll < 0.10:
                status, expires = CredentialStatus.PENDING, today + timedelta(days=rng.randint(60, 700))
            elif roll < 0.20:
                status, expires = CredentialStatus.APPROVED, today + timedelta(days=rng.randint(1, 30))
            elif roll < 0.24:
                status, expires = CredentialStatus.EXPIRED, today - timedelta(days=rng.randint(2, 90))
            elif roll < 0.27:  # lapsed yesterday: the next sweep expires it
                status, expires = CredentialStatus.APPROVED, today - timedelta(days=1)
            elif roll < 0.29:
                status, expires = CredentialStatus.REJECTED, today + timedelta(days=rng.randint(60, 700))
            else:
                status, expires = CredentialStatus.APPROVED, today + timedelta(days=rng.randint(31, 700))
            cred = Credential(
                technician_id=tech.id, credential_type_id=ctype.id,
                number=f"{ctype.name[:3].upper()}-{rng.randint(100000, 999999)}",
                issuer=ctype.issuing_body or "Acme Mutual Insurance",
                issued_on=min(today, expires) - timedelta(days=365) if ctype.expires else
                today - timedelta(days=rng.randint(30, 900)),
                expires_on=expires if ctype.expires else None,
                coverage_cents=(ctype.default_coverage_cents * rng.choice([1, 2]))
                if ctype.default_coverage_cents else None,
                status=status,
                decision_reason="The document is blurry: upload a sharper photo."
                if status == CredentialStatus.REJECTED else None,
                reviewed_by_id=admin.id if admin is not None and status not in (
                    CredentialStatus.PENDING,) else None,
                reviewed_at=clock.now() if status != CredentialStatus.PENDING else None,
                submitted_at=clock.now() - timedelta(hours=rng.randint(1, 72)))
            db.session.add(cred)
            credentials.append(cred)

    credentials += _renewals(credentials, today)

    gl, osha, lv = (types["General liability insurance"], types["OSHA 10"],
                    types["Low-voltage licence"])
    sets = [RequirementSet(name="Insured technician", description="Platform baseline.",
                           items=[RequirementItem(credential_type_id=gl.id,
                                                  min_coverage_cents=100_000_000)])]
    if firms:
        items = [RequirementItem(credential_type_id=gl.id, min_coverage_cents=200_000_000),
                 RequirementItem(credential_type_id=osha.id),
                 RequirementItem(credential_type_id=lv.id)]
        sets.append(RequirementSet(firm_id=firms[0].id, name="Low-voltage retail installs",
                                   description="Cabling and racks in live stores.", items=items))
    db.session.add_all(sets)
    db.session.flush()
    return {"credential_types": list(types.values()), "credentials": credentials,
            "requirement_sets": sets}


RENEWALS = 5


def _renewals(credentials: list[Credential], today) -> list[Credential]:
    """Renewals waiting for review of credentials about to run out, which the review queue
    puts first. No random draws: the rest of the demo stays as it was."""
    db.session.flush()
    soon = sorted((c for c in credentials if c.status == CredentialStatus.APPROVED
                   and c.expires_on is not None
                   and today <= c.expires_on <= today + timedelta(days=30)),
                  key=lambda c: (c.expires_on, c.id))
    soon = soon[::max(1, len(soon) // RENEWALS)][:RENEWALS]   # a spread of expiry dates
    renewals = [Credential(technician_id=c.technician_id, credential_type_id=c.credential_type_id,
                           number=c.number, issuer=c.issuer, issued_on=today,
                           expires_on=c.expires_on + timedelta(days=365),
                           coverage_cents=c.coverage_cents, status=CredentialStatus.PENDING,
                           supersedes_id=c.id,
                           submitted_at=clock.now() - timedelta(hours=2 + 3 * i))
                for i, c in enumerate(soon)]
    db.session.add_all(renewals)
    return renewals
