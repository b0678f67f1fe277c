"""Builders for find tests: assignments at a site with skills, compliant technicians."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from marketplace.accounts.models import TechnicianSkill
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentSkill, AssignmentStatus
from marketplace.verify.models import (Credential, CredentialKind, CredentialStatus,
                                       CredentialType, RequirementItem, RequirementSet)
from tests import factories

DALLAS = (32.7767, -96.7970)
START = datetime(2030, 6, 3, 15, 0, tzinfo=timezone.utc)


def make_assignment(firm_user, *, lat=DALLAS[0], lon=DALLAS[1], radius_km=50, skills=None,
                    starts_at=START, hours=2, status=AssignmentStatus.PUBLISHED,
                    requirement_set_id=None, **kw) -> Assignment:
    a = Assignment(firm_id=firm_user.firm.id, created_by_id=firm_user.id,
                   title=kw.pop("title", "Install cameras"), address="Dallas, TX", lat=lat,
                   lon=lon, timezone="America/Chicago", radius_km=radius_km,
                   starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours),
                   rate_cents=20000, budget_cents=20000, status=status,
                   requirement_set_id=requirement_set_id, **kw)
    for sid, level in (skills or {}).items():
        a.skills.append(AssignmentSkill(skill_id=sid, min_level=level))
    db.session.add(a)
    db.session.commit()
    return a


def tech_at(lat, lon, *, skills=None, travel_radius_km=50, **kw):
    user = factories.technician(lat=lat, lon=lon, travel_radius_km=travel_radius_km, **kw)
    profile = user.technician
    for sid, level in (skills or {}).items():
        db.session.add(TechnicianSkill(technician_id=profile.id, skill_id=sid, level=level))
    db.session.commit()
    return profile


def requirement_set(firm=None, name="Insured") -> tuple[RequirementSet, CredentialType]:
    ctype = CredentialType(name="General liability " + name, kind=CredentialKind.INSURANCE)
    rs = RequirementSet(name=name, firm_id=firm.id if firm else None)
    db.session.add_all([ctype, rs])
    db.session.flush()
    db.session.add(RequirementItem(requirement_set_id=rs.id, credential_type_id=ctype.id))
    db.session.commit()
    return rs, ctype


def give_credential(profile, ctype, expires_on=date(2031, 1, 1),
                    status=CredentialStatus.APPROVED) -> Credential:
    cred = Credential(technician_id=profile.id, credential_type_id=ctype.id,
                      expires_on=expires_on, status=status)
    db.session.add(cred)
    db.session.commit()
    return cred
