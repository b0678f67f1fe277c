"""What happens on site: visits, task answers and proof, change requests, the work record.

Manage owns these tables; the assignment itself (its state, window, site and
checklist) stays find's. Times a phone recorded (`*_at`) are the device's,
judged against the server's `received_at` when they arrive.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import TechnicianProfile, enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db
from ..find.models import Assignment


class Geofence(StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    UNVERIFIED = "unverified"   # no fix, a poor one, or a stale one

    @property
    def label(self) -> str:
        return {"inside": "At the site", "outside": "Outside the site",
                "unverified": "Location not verified"}[self.value]


class Arrival(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize().replace("No show", "No-show")


class ManageSettings(db.Model):
    """A firm's rules for arrival and geofences (defaults when it has none)."""
    __tablename__ = "manage_settings"

    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), primary_key=True)
    early_minutes: Mapped[int] = mapped_column(Integer, default=30)
    late_minutes: Mapped[int] = mapped_column(Integer, default=15)
    geofence_m: Mapped[int] = mapped_column(Integer, default=150)
    sla_warning_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


class WorkRecord(db.Model):
    """Manage's facts about one assignment once it is taken: arrival, revisits, review."""
    __tablename__ = "work_records"
    __table_args__ = (Index("ix_work_records_approved", "approved_at"),)   # KPIs

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    arrival: Mapped[Arrival | None] = mapped_column(enum_column(Arrival))
    first_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revisits: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submit_note: Mapped[str | None] = mapped_column(Text)
    revisit_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    assignment: Mapped[Assignment] = relationship()


OPEN_VISIT = text("checkout_at IS NULL")


class Visit(db.Model):
    """One stay on site, from check-in to check-out (several per assignment)."""
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("assignment_id", "number"),
        # At most one open visit per assignment, whatever races.
        Index("uq_visits_open", "assignment_id", unique=True,
              sqlite_where=OPEN_VISIT, postgresql_where=OPEN_VISIT),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    number: Mapped[int] = mapped_column(Integer)
    checkin_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkin_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    checkin_lat: Mapped[float | None] = mapped_column(Float)
    checkin_lon: Mapped[float | None] = mapped_column(Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(Float)
    checkin_distance_m: Mapped[int | None] = mapped_column(Integer)
    checkin_geofence: Mapped[Geofence] = mapped_column(enum_column(Geofence))
    checkin_reason: Mapped[str | None] = mapped_column(String(300))
    checkout_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkout_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkout_lat: Mapped[float | None] = mapped_column(Float)
    checkout_lon: Mapped[float | None] = mapped_column(Float)
    checkout_accuracy_m: Mapped[float | None] = mapped_column(Float)
    checkout_distance_m: Mapped[int | None] = mapped_column(Integer)
    checkout_geofence: Mapped[Geofence | None] = mapped_column(enum_column(Geofence))
    checkout_reason: Mapped[str | None] = mapped_column(String(300))

    technician: Mapped[TechnicianProfile] = relationship()

    @property
    def seconds_on_site(self) -> int | None:
        if self.checkout_at is None:
            return None
        return int((self.checkout_at - self.checkin_at).total_seconds())


class TaskAnswer(db.Model):
    """The latest answer to one checklist task of an assignment."""
    __tablename__ = "task_answers"
    __table_args__ = (UniqueConstraint("assignment_id", "task_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    task_key: Mapped[str] = mapped_column(String(20))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ProofFile(db.Model):
    """A photo, signature or file that answers a task (re-encoded, EXIF stripped)."""
    __tablename__ = "proof_files"
    __table_args__ = (Index("ix_proof_files_task", "assignment_id", "task_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    task_key: Mapped[str] = mapped_column(String(20))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    storage_key: Mapped[str] = mapped_column(String(80))
    thumb_key: Mapped[str | None] = mapped_column(String(80))
    mime: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    # What the app recorded when it was taken (the file itself carries no EXIF).
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    signer_name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ChangeKind(StrEnum):
    EXPENSE = "expense"
    BUDGET_INCREASE = "budget_increase"

    @property
    def label(self) -> str:
        return "Expense" if self is ChangeKind.EXPENSE else "Budget increase"


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


EXPENSE_CATEGORIES = ("parts", "materials", "travel", "parking", "tools", "other")


class ChangeRequest(db.Model):
    """A technician's request for an expense or more budget, and the firm's answer."""
    __tablename__ = "change_requests"
    __table_args__ = (Index("ix_change_requests_assignment", "assignment_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    kind: Mapped[ChangeKind] = mapped_column(enum_column(ChangeKind))
    category: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    reason: Mapped[str] = mapped_column(String(500))
    receipt_key: Mapped[str | None] = mapped_column(String(80))
    receipt_mime: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[ChangeStatus] = mapped_column(enum_column(ChangeStatus),
                                                 default=ChangeStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    technician: Mapped[TechnicianProfile] = relationship()


class AppliedAction(db.Model):
    """An action a phone sent with an idempotency key, applied once; its first result."""
    __tablename__ = "applied_actions"
    __table_args__ = (UniqueConstraint("technician_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30))
    assignment_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Message(db.Model):
    """One message in the thread between a firm and one technician about one assignment
    (before assignment: the technician holding an offer; after: the assignee)."""
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread", "assignment_id", "technician_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_firm: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    file_key: Mapped[str | None] = mapped_column(String(80))
    file_mime: Mapped[str | None] = mapped_column(String(40))
    file_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ThreadRead(db.Model):
    """How far one reader has read one thread (unread counts come from it)."""
    __tablename__ = "thread_reads"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id", "technician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    last_read_id: Mapped[int] = mapped_column(Integer, default=0)


class Announcement(db.Model):
    """A firm's message to the active members of one of its talent pools."""
    __tablename__ = "pool_announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("talent_pools.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class SlaEvent(db.Model):
    """An SLA clock that warned or was breached, recorded once (KPIs count these)."""
    __tablename__ = "sla_events"
    __table_args__ = (UniqueConstraint("assignment_id", "kind", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    kind: Mapped[str] = mapped_column(String(20))    # response, arrival, completion
    state: Mapped[str] = mapped_column(String(10))   # warning, breach
    at: Mapped[datetime] = mapped_column(UTCDateTime)
