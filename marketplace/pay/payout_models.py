"""Payouts' tables: payout intents (one Stripe Transfer each), instant payouts, and the
numbered documents (firm invoices, technician payment statements)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, TechnicianProfile, enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db
from ..find.models import Assignment
from .ledger_models import LEDGER_ID


class IntentStatus(StrEnum):
    PENDING = "pending"      # ledger moved, Stripe not (yet) known to have the transfer
    SENT = "sent"            # the transfer exists; its id is recorded
    FAILED = "failed"        # Stripe refused; waits for an admin's retry
    REVERSING = "reversing"  # an admin asked Stripe to reverse the transfer; no answer yet
    REVERSED = "reversed"    # the transfer was reversed (the money is back with the platform)

    @property
    def label(self) -> str:
        return {"pending": "Sending", "sent": "Transferred", "failed": "Failed",
                "reversing": "Reversing", "reversed": "Reversed"}[self.value]


# The payouts whose transfer Stripe made (reversed or being reversed since): what the
# technician was paid, what 1099 totals count and what reconciliation expects at Stripe.
TRANSFERRED = (IntentStatus.SENT, IntentStatus.REVERSING, IntentStatus.REVERSED)


class PayoutIntent(db.Model):
    """One payable's transfer to its technician's connected account, written in the same
    transaction as its ledger entries (TECH_PAYABLE -> TECH_IN_TRANSIT)."""
    __tablename__ = "payout_intents"
    __table_args__ = (Index("ix_payout_intents_status", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Stripe idempotency key: derived from the ledger transaction (and the retry number).
    key: Mapped[str] = mapped_column(String(80), unique=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    ledger_txn_id: Mapped[int] = mapped_column(LEDGER_ID, ForeignKey("ledger_transactions.id"),
                                               unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(64))
    transfer_group: Mapped[str] = mapped_column(String(64))
    status: Mapped[IntentStatus] = mapped_column(enum_column(IntentStatus, 10),
                                                 default=IntentStatus.PENDING)
    retries: Mapped[int] = mapped_column(Integer, default=0)   # admin retries (new key each)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    key_created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    transfer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_cents: Mapped[int] = mapped_column(Integer, default=0)

    assignment: Mapped[Assignment] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()
    firm: Mapped[Firm] = relationship()


class InstantStatus(StrEnum):
    REQUESTED = "requested"
    PENDING = "pending"      # Stripe accepted it; on its way
    PAID = "paid"
    FAILED = "failed"


class InstantPayout(db.Model):
    """A technician's Instant Payout from their connected account, at Stripe's fee."""
    __tablename__ = "instant_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[InstantStatus] = mapped_column(enum_column(InstantStatus, 10),
                                                  default=InstantStatus.REQUESTED)
    payout_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    arrival_date: Mapped[date | None] = mapped_column(Date)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    technician: Mapped[TechnicianProfile] = relationship()


class DocumentKind(StrEnum):
    INVOICE = "invoice"        # to the firm: what the work cost
    STATEMENT = "statement"    # to the technician: what they earn, the fee, the payout date

    @property
    def prefix(self) -> str:
        return {"invoice": "INV", "statement": "PS"}[self.value]


class DocumentSeries(db.Model):
    """The last number issued in a series ("INV-2026"): numbers are sequential, no gaps."""
    __tablename__ = "pay_document_series"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class PayDocument(db.Model):
    """An invoice or a payment statement for one approved assignment; never changes."""
    __tablename__ = "pay_documents"
    __table_args__ = (UniqueConstraint("series", "number"),
                      UniqueConstraint("kind", "assignment_id"),
                      Index("ix_pay_documents_firm", "firm_id", "issued_at"),
                      Index("ix_pay_documents_technician", "technician_id", "issued_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, 10))
    series: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    labour_cents: Mapped[int] = mapped_column(Integer)
    expenses_cents: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payout_date: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    assignment: Mapped[Assignment] = relationship()
    firm: Mapped[Firm] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()

    @property
    def display_number(self) -> str:
        return f"{self.series}-{self.number:06d}"

    @property
    def net_cents(self) -> int:
        """What the technician receives: the total less the platform fee."""
        return self.total_cents - self.fee_cents
