"""Users, firms (tenants), memberships and roles, technician profiles, skills, API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


class AccountKind(StrEnum):
    FIRM = "firm"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    DISPATCHER = "dispatcher"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FirmVerification(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class TechnicianStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDED = "offboarded"


class SkillLevel(enum.IntEnum):
    ENTRY = 1
    INTERMEDIATE = 2
    ADVANCED = 3
    EXPERT = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


def enum_column(enum_cls, length: int = 20):
    """Enums stored as plain strings: portable, and migrations stay simple."""
    return db.Enum(enum_cls, native_enum=False, length=length,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    membership: Mapped["Membership | None"] = relationship(
        back_populates="user", uselist=False, foreign_keys="Membership.user_id")
    technician: Mapped["TechnicianProfile | None"] = relationship(
        back_populates="user", uselist=False)

    def get_id(self) -> str:
        # Session and remember-me cookie carry the version; services.end_sessions bumps it.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_admin(self) -> bool:
        return self.kind == AccountKind.ADMIN

    @property
    def is_technician(self) -> bool:
        return self.kind == AccountKind.TECHNICIAN

    @property
    def is_firm_user(self) -> bool:
        return self.kind == AccountKind.FIRM and self.membership is not None

    @property
    def firm(self) -> "Firm | None":
        return self.membership.firm if self.membership else None


class Firm(db.Model):
    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    industry: Mapped[str | None] = mapped_column(String(60))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    ein: Mapped[str | None] = mapped_column(String(10))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    verification_status: Mapped[FirmVerification] = mapped_column(
        enum_column(FirmVerification), default=FirmVerification.UNVERIFIED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="firm")

    @property
    def is_verified(self) -> bool:
        return self.verification_status == FirmVerification.VERIFIED


class Membership(db.Model):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    # A dispatcher may only commit spend up to this much per assignment (cents).
    budget_limit_cents: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship(back_populates="membership", foreign_keys=[user_id])
    firm: Mapped[Firm] = relationship(back_populates="memberships")


class Invitation(db.Model):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    budget_limit_cents: Mapped[int | None]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    firm: Mapped[Firm] = relationship()

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= clock.now():
            return "expired"
        return "pending"


class Skill(db.Model):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(60))


class TechnicianProfile(db.Model):
    __tablename__ = "technicians"
    __table_args__ = (Index("ix_technicians_status_latlon", "status", "lat", "lon"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    headline: Mapped[str] = mapped_column(String(140), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(30))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    travel_radius_km: Mapped[int] = mapped_column(Integer, default=40)
    hourly_rate_cents: Mapped[int] = mapped_column(Integer, default=5000)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # {"mon": true, ..., "sun": false}: the weekdays the technician takes work.
    availability: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[TechnicianStatus] = mapped_column(
        enum_column(TechnicianStatus), default=TechnicianStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    user: Mapped[User] = relationship(back_populates="technician")
    skills: Mapped[list["TechnicianSkill"]] = relationship(
        back_populates="technician", cascade="all, delete-orphan")

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None


class TechnicianSkill(db.Model):
    __tablename__ = "technician_skills"
    __table_args__ = (UniqueConstraint("technician_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=SkillLevel.INTERMEDIATE)

    technician: Mapped[TechnicianProfile] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def with_role() -> tuple:
    """Loader options for a signed-in user: what nearly every request reads of them
    (the firm membership and firm, or the technician profile), in the same statement."""
    return (joinedload(User.membership).joinedload(Membership.firm),
            joinedload(User.technician))
