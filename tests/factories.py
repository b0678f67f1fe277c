"""factory_boy factories. All demo users share one password (hashed once)."""
from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from marketplace.accounts.models import (AccountKind, Firm, FirmVerification, Membership, Role,
                                         Skill, TechnicianProfile, TechnicianSkill, User)
from marketplace.accounts.services import default_availability
from marketplace.extensions import db

PASSWORD = "correct-horse-9"
PASSWORD_HASH = generate_password_hash(PASSWORD)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password_hash = PASSWORD_HASH
    kind = AccountKind.FIRM


class FirmFactory(Base):
    class Meta:
        model = Firm

    name = factory.Sequence(lambda n: f"Firm {n}")
    slug = factory.Sequence(lambda n: f"firm-{n}")
    timezone = "America/Chicago"
    verification_status = FirmVerification.VERIFIED


class MembershipFactory(Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, kind=AccountKind.FIRM)
    firm = factory.SubFactory(FirmFactory)
    role = Role.OWNER


class TechnicianFactory(Base):
    class Meta:
        model = TechnicianProfile

    user = factory.SubFactory(UserFactory, kind=AccountKind.TECHNICIAN)
    headline = "Field technician"
    postal_code = "75201"
    city = "Dallas"
    state = "TX"
    lat = 32.7904
    lon = -96.8044
    timezone = "America/Chicago"
    travel_radius_km = 50
    hourly_rate_cents = 6000
    availability = factory.LazyFunction(default_availability)


class SkillFactory(Base):
    class Meta:
        model = Skill

    slug = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.Sequence(lambda n: f"Skill {n}")
    category = "IT"


class TechnicianSkillFactory(Base):
    class Meta:
        model = TechnicianSkill

    technician = factory.SubFactory(TechnicianFactory)
    skill = factory.SubFactory(SkillFactory)
    level = 2


def firm_user(role: Role = Role.OWNER, firm: Firm | None = None, **user_kw) -> User:
    kw = {"role": role, "user__kind": AccountKind.FIRM}
    kw.update({f"user__{k}": v for k, v in user_kw.items()})
    if firm is not None:
        kw["firm"] = firm
    return MembershipFactory(**kw).user


def technician(**kw) -> User:
    user_kw = {f"user__{k}": kw.pop(k) for k in list(kw) if k in ("email", "name")}
    return TechnicianFactory(**kw, **user_kw).user


def admin(**kw) -> User:
    return UserFactory(kind=AccountKind.ADMIN, **kw)
