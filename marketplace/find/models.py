"""Assignments, templates, talent pools, blocks, the geocode cache and the match index."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, Skill, StrEnum, TechnicianProfile, User, enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db
from .lifecycle import BOOKED_STATES, AssignmentStatus  # noqa: F401  (re-exported)


class ScheduleKind(StrEnum):
    WINDOW = "window"        # arrive between starts_at and ends_at: a dispatch window
    FLEXIBLE = "flexible"    # any time between starts_at and ends_at: a range of any length


# A dispatch window is 1 to 3 hours; longer stretches are flexible ranges.
WINDOW_HOURS = (1, 3)
WINDOW_RULE = "An arrival window runs 1 to 3 hours; for longer, choose a flexible range."


class Pricing(StrEnum):
    FIXED = "fixed"
    HOURLY = "hourly"
    BLENDED = "blended"      # fixed for the first hours, hourly after


class Assignment(db.Model):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_firm_status", "firm_id", "status"),
        Index("ix_assignments_status_latlon", "status", "lat", "lon"),
        Index("ix_assignments_assignee_status", "assignee_id", "status"),
        # A firm's work by when it starts and when it was published (KPIs, the board).
        Index("ix_assignments_firm_starts", "firm_id", "starts_at"),
        Index("ix_assignments_firm_published", "firm_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    requirement_set_id: Mapped[int | None] = mapped_column(ForeignKey("requirement_sets.id"))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    radius_km: Mapped[int] = mapped_column(Integer, default=50)
    schedule_kind: Mapped[ScheduleKind] = mapped_column(enum_column(ScheduleKind),
                                                        default=ScheduleKind.WINDOW)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pricing: Mapped[Pricing] = mapped_column(enum_column(Pricing), default=Pricing.FIXED)
    # fixed: the price; hourly: per hour; blended: the fixed part covering fixed_hours.
    rate_cents: Mapped[int] = mapped_column(Integer, default=0)
    hourly_rate_cents: Mapped[int | None] = mapped_column(Integer)
    max_hours: Mapped[float | None] = mapped_column(Float)
    fixed_hours: Mapped[float | None] = mapped_column(Float)
    budget_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    checklist: Mapped[list] = mapped_column(JSON, default=list)
    # Check-in radius in metres; the firm's default (manage) when None.
    geofence_m: Mapped[int | None] = mapped_column(Integer)
    # SLA targets in minutes (manage keeps the clocks): accepted after publishing,
    # checked in after the window's start, submitted after the window's end.
    sla_response_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_arrival_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_completion_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[AssignmentStatus] = mapped_column(enum_column(AssignmentStatus),
                                                     default=AssignmentStatus.DRAFT)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"))
    # The terms agreed with the assignee, price and expenses apart (what pay owes): set
    # in the same conditional UPDATE that assigns, cleared when the assignee is released.
    agreed_price_cents: Mapped[int | None] = mapped_column(Integer)
    agreed_expenses_cents: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    firm: Mapped[Firm] = relationship()
    created_by: Mapped[User] = relationship()
    assignee: Mapped[TechnicianProfile | None] = relationship()
    skills: Mapped[list["AssignmentSkill"]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan")

    @property
    def skill_requirements(self) -> dict[int, int]:
        return {s.skill_id: s.min_level for s in self.skills}


class AssignmentSkill(db.Model):
    __tablename__ = "assignment_skills"
    __table_args__ = (UniqueConstraint("assignment_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"))
    min_level: Mapped[int] = mapped_column(Integer, default=1)

    assignment: Mapped[Assignment] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")  # shown wherever skills are


class AssignmentTemplate(db.Model):
    """Everything an assignment needs but its date, as a JSON snapshot."""
    __tablename__ = "assignment_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PoolVisibility(StrEnum):
    PUBLIC = "public"            # technicians may apply
    INVITE_ONLY = "invite_only"  # visible, join by invitation
    PRIVATE = "private"          # the firm adds members itself


class TalentPool(db.Model):
    __tablename__ = "talent_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[PoolVisibility] = mapped_column(enum_column(PoolVisibility),
                                                       default=PoolVisibility.PRIVATE)
    requirement_set_id: Mapped[int | None] = mapped_column(ForeignKey("requirement_sets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    firm: Mapped[Firm] = relationship()
    members: Mapped[list["PoolMember"]] = relationship(back_populates="pool",
                                                       cascade="all, delete-orphan")


class PoolMemberStatus(StrEnum):
    INVITED = "invited"
    APPLIED = "applied"
    ACTIVE = "active"
    REMOVED = "removed"
    DECLINED = "declined"


class PoolMember(db.Model):
    __tablename__ = "pool_members"
    __table_args__ = (UniqueConstraint("pool_id", "technician_id"),
                      Index("ix_pool_members_tech_status", "technician_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("talent_pools.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    status: Mapped[PoolMemberStatus] = mapped_column(enum_column(PoolMemberStatus))
    # "lapsed" (verify removed them; reinstated on renewal) or "firm" (removed by hand).
    removed_reason: Mapped[str | None] = mapped_column(String(40))
    removed_credential_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("credential_types.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    pool: Mapped[TalentPool] = relationship(back_populates="members")
    technician: Mapped[TechnicianProfile] = relationship()


class FirmBlock(db.Model):
    """A firm never sees (nor is matched with) a technician it blocked."""
    __tablename__ = "firm_blocks"
    __table_args__ = (UniqueConstraint("firm_id", "technician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class GeocodeCache(db.Model):
    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(300), unique=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# What a search reads: carried in the primary key's leaves on PostgreSQL.
INDEX_COLUMNS = ["level", "lat", "lon", "travel_radius_km", "x", "y", "z", "cos_travel",
                 "skills"]


class MatchIndexRow(db.Model):
    """Derived: one row per (skill, stored H3 cell, technician) for matchable technicians.

    skill_id 0 is "any skill" so assignments without skills use the same path.
    The primary key is the read order (skill, then cell ranges: find/geo.py); the
    row carries every column a search reads, clustered with it (SQLite WITHOUT
    ROWID, PostgreSQL INCLUDE for index-only scans). Maintained by match_index.py.
    """
    __tablename__ = "match_index"

    skill_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    cell: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    technician_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    level: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    travel_radius_km: Mapped[int] = mapped_column(Integer)
    # The location as a unit vector and cos(travel radius / Earth radius): distance
    # tests in SQL by multiplication only (geo.py). `skills`: match_index.skill_bits.
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    z: Mapped[float] = mapped_column(Float)
    cos_travel: Mapped[float] = mapped_column(Float)
    skills: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        PrimaryKeyConstraint("skill_id", "cell", "technician_id",
                             postgresql_include=INDEX_COLUMNS),
        Index("ix_match_index_technician", "technician_id"),
        {"sqlite_with_rowid": False},
    )
