"""The rails' tables: technicians' connected accounts, firms' top-ups and net terms, and
the Stripe events received (one row per event id: the deduplication)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer,
                        String)
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts.models import enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db

TERMS_DAYS = (7, 15, 30)


class ConnectedAccount(db.Model):
    """A technician's Stripe connected account. Payouts are on only when a verified
    `account.updated` webhook said so; no bank details are kept here."""
    __tablename__ = "pay_connected_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), unique=True)
    stripe_account_id: Mapped[str] = mapped_column(String(64), unique=True)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    requirements_due: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)


class TopUpStatus(enum.StrEnum):
    REQUESTED = "requested"     # written; the payment intent is created after commit
    PROCESSING = "processing"   # a bank debit on its way (days)
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """How far along: an event never moves a top-up back."""
        return {"requested": 0, "processing": 1, "succeeded": 2, "failed": 2}[self.value]


class TopUp(db.Model):
    """A firm adding money to its funding balance through a PaymentIntent."""
    __tablename__ = "pay_topups"
    __table_args__ = (Index("ix_pay_topups_firm_id_created_at", "firm_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    method: Mapped[str] = mapped_column(String(20))            # card | us_bank_account
    payment_method: Mapped[str] = mapped_column(String(64))
    status: Mapped[TopUpStatus] = mapped_column(enum_column(TopUpStatus),
                                                default=TopUpStatus.REQUESTED)
    payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disputed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class NetTerms(db.Model):
    """Net terms an admin granted a firm: pay within `days`, up to a credit limit."""
    __tablename__ = "pay_net_terms"
    __table_args__ = (
        CheckConstraint("days IN (7, 15, 30)", name="days"),
        CheckConstraint("credit_limit_cents > 0", name="credit_limit_positive"),
    )

    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)
    credit_limit_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class StripeEvent(db.Model):
    """A Stripe event received and verified; its id is unique, so a redelivery is seen."""
    __tablename__ = "pay_stripe_events"
    __table_args__ = (Index("ix_pay_stripe_events_type_received_at", "type", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    account: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))       # handled | ignored
    created: Mapped[datetime] = mapped_column(UTCDateTime)   # when Stripe made it
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
