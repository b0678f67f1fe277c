"""Credential types, submitted credentials, requirement sets."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import StrEnum, TechnicianProfile, enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db


class CredentialKind(StrEnum):
    LICENCE = "licence"
    CERTIFICATION = "certification"
    INSURANCE = "insurance"
    BACKGROUND_CHECK = "background_check"
    DRUG_TEST = "drug_test"
    AGREEMENT = "agreement"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class CredentialStatus(StrEnum):
    PENDING = "pending"          # waiting for an admin
    NEEDS_INFO = "needs_info"    # admin asked the technician for more
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"          # was approved; its expiry date has passed
    SUPERSEDED = "superseded"    # replaced by an approved renewal

    @property
    def label(self) -> str:
        return {"needs_info": "More info needed"}.get(self.value, self.value.capitalize())


class CredentialType(db.Model):
    """A kind of proof. Platform-wide (firm_id NULL, admins manage) or a firm's own."""
    __tablename__ = "credential_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CredentialKind] = mapped_column(enum_column(CredentialKind, 30))
    issuing_body: Mapped[str | None] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    requires_document: Mapped[bool] = mapped_column(Boolean, default=True)
    expires: Mapped[bool] = mapped_column(Boolean, default=True)
    # For insurance: the coverage a policy must show unless a requirement asks for more.
    default_coverage_cents: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Credential(db.Model):
    """One submission by a technician. Renewals are new rows that supersede old ones."""
    __tablename__ = "credentials"
    __table_args__ = (
        Index("ix_credentials_tech_type_status", "technician_id", "credential_type_id", "status"),
        Index("ix_credentials_status_expires", "status", "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    credential_type_id: Mapped[int] = mapped_column(ForeignKey("credential_types.id"))
    number: Mapped[str | None] = mapped_column(String(80))
    issuer: Mapped[str | None] = mapped_column(String(160))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    coverage_cents: Mapped[int | None]
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_name: Mapped[str | None] = mapped_column(String(200))
    document_mime: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[CredentialStatus] = mapped_column(
        enum_column(CredentialStatus), default=CredentialStatus.PENDING)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    credential_type: Mapped[CredentialType] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()


class RequirementSet(db.Model):
    """What a job or pool demands. Platform-wide (firm_id NULL) or a firm's own."""
    __tablename__ = "requirement_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # Filled by the rate stage: minimum average rating x100 (e.g. 450 = 4.5) and jobs done.
    min_rating_x100: Mapped[int | None] = mapped_column(Integer)
    min_completed_jobs: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    items: Mapped[list["RequirementItem"]] = relationship(
        back_populates="requirement_set", cascade="all, delete-orphan")


class RequirementItem(db.Model):
    __tablename__ = "requirement_items"
    __table_args__ = (UniqueConstraint("requirement_set_id", "credential_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_set_id: Mapped[int] = mapped_column(ForeignKey("requirement_sets.id"), index=True)
    credential_type_id: Mapped[int] = mapped_column(ForeignKey("credential_types.id"))
    min_coverage_cents: Mapped[int | None]

    requirement_set: Mapped[RequirementSet] = relationship(back_populates="items")
    credential_type: Mapped[CredentialType] = relationship()
