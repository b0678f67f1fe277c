"""Routing plans, offers, counteroffers and backouts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import StrEnum, TechnicianProfile, enum_column
from ..core import clock
from ..core.money import DEFAULT_CURRENCY
from ..core.types import UTCDateTime
from ..extensions import db
from ..find.models import Assignment


class RoutingMode(StrEnum):
    FIRST_TO_ACCEPT = "first_to_accept"   # the first technician to accept is assigned
    APPLY_AND_CHOOSE = "apply_and_choose"  # technicians apply; the firm picks

    @property
    def label(self) -> str:
        return {"first_to_accept": "First to accept", "apply_and_choose": "Apply and choose"}[self.value]


class TargetKind(StrEnum):
    TECHNICIANS = "technicians"
    POOL = "pool"
    TOP_MATCHES = "top_matches"
    MARKETPLACE = "marketplace"
    FAVOURITES = "favourites"      # offered only when a later stage provides it (routing)


class Engagement(db.Model):
    """How an assignment is routed and what cancelling it late costs."""
    __tablename__ = "engagements"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    mode: Mapped[RoutingMode] = mapped_column(enum_column(RoutingMode, 30))
    offer_ttl_hours: Mapped[int] = mapped_column(Integer, default=24)
    cancellation_cutoff_hours: Mapped[int] = mapped_column(Integer, default=24)
    cancellation_fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    standby_size: Mapped[int] = mapped_column(Integer, default=5)
    open_to_marketplace: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    assignment: Mapped[Assignment] = relationship()
    stages: Mapped[list["RoutingStage"]] = relationship(
        back_populates="engagement", order_by="RoutingStage.position",
        cascade="all, delete-orphan")


class RoutingStage(db.Model):
    """One step of a staged routing plan: whom to offer to, and when."""
    __tablename__ = "routing_stages"
    __table_args__ = (Index("ix_routing_stages_due", "started_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("engagements.assignment_id"))
    position: Mapped[int] = mapped_column(Integer)
    target: Mapped[TargetKind] = mapped_column(enum_column(TargetKind, 20))
    # technician ids, or pool ids, or {"k": 10} for top matches
    target_ids: Mapped[list] = mapped_column(JSON, default=list)
    top_k: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offers_sent: Mapped[int] = mapped_column(Integer, default=0)

    engagement: Mapped[Engagement] = relationship(back_populates="stages")


class OfferStatus(StrEnum):
    OPEN = "open"            # waiting for the technician
    APPLIED = "applied"      # the technician applied (apply-and-choose)
    COUNTERED = "countered"  # a counteroffer is pending
    ACCEPTED = "accepted"    # this technician got the assignment
    DECLINED = "declined"
    EXPIRED = "expired"
    CLOSED = "closed"        # someone else got it, or the assignment was cancelled

    @property
    def label(self) -> str:
        return self.value.capitalize()


LIVE_OFFER_STATES = (OfferStatus.OPEN, OfferStatus.APPLIED, OfferStatus.COUNTERED)


class OfferSource(StrEnum):
    ROUTED = "routed"
    STANDBY = "standby"          # backfill after a backout or offboarding
    MARKETPLACE = "marketplace"  # the technician found it in the open feed


class Offer(db.Model):
    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("assignment_id", "technician_id"),
                      Index("ix_offers_technician_status", "technician_id", "status"),
                      Index("ix_offers_status_expires", "status", "expires_at"),
                      # Each assignment's accepted offer (time to fill, the board).
                      Index("ix_offers_accepted", "assignment_id",
                            postgresql_include=["responded_at"],
                            postgresql_where=text("status = 'accepted'"),
                            sqlite_where=text("status = 'accepted'")))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("routing_stages.id"))
    source: Mapped[OfferSource] = mapped_column(enum_column(OfferSource), default=OfferSource.ROUTED)
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus), default=OfferStatus.OPEN)
    # What is offered, and once accepted what was agreed: the labour price and the
    # expenses apart, in the assignment's currency.
    price_cents: Mapped[int] = mapped_column(Integer)
    expenses_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), server_default=DEFAULT_CURRENCY)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignment: Mapped[Assignment] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()
    counteroffers: Mapped[list["Counteroffer"]] = relationship(
        back_populates="offer", order_by="Counteroffer.id")

    @property
    def pending_counteroffer(self) -> "Counteroffer | None":
        return next((c for c in self.counteroffers if c.status == CounterStatus.PENDING), None)


class CounterStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Counteroffer(db.Model):
    """A proposed change of price, schedule or expenses, from either side."""
    __tablename__ = "counteroffers"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    proposed_by: Mapped[str] = mapped_column(String(12))  # "technician" or "firm"
    price_cents: Mapped[int] = mapped_column(Integer)
    expenses_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), server_default=DEFAULT_CURRENCY)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CounterStatus] = mapped_column(enum_column(CounterStatus),
                                                  default=CounterStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offer: Mapped[Offer] = relationship(back_populates="counteroffers")


class Backout(db.Model):
    """A technician gave back assigned work (kept for the rate stage)."""
    __tablename__ = "backouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    hours_before_start: Mapped[int] = mapped_column(Integer)
    offboarded: Mapped[bool] = mapped_column(default=False)  # removed by verify, not by choice
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Cancellation(db.Model):
    __tablename__ = "cancellations"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    cancelled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), server_default=DEFAULT_CURRENCY)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
