"""What the marketplace owes a technician: one Payable per approved assignment (or late
cancellation), due on a date set by the firm's payment terms. Payouts pays those due."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, TechnicianProfile, enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db
from ..find.models import Assignment
from .ledger_models import LEDGER_ID


class PayableKind(StrEnum):
    WORK = "work"                   # approved work: labour and expenses
    CANCELLATION = "cancellation"   # the late-cancellation fee


class PayableStatus(StrEnum):
    PENDING = "pending"     # recorded; paid once due_on has come
    PAYING = "paying"       # a payout intent is written
    PAID = "paid"
    FAILED = "failed"
    REVERSED = "reversed"


class Payable(db.Model):
    __tablename__ = "payables"
    __table_args__ = (Index("ix_payables_status_due", "status", "due_on"),
                      Index("ix_payables_technician", "technician_id", "approved_at"),
                      Index("ix_payables_firm", "firm_id", "approved_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    kind: Mapped[PayableKind] = mapped_column(enum_column(PayableKind, 12),
                                              default=PayableKind.WORK)
    labour_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    expenses_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)      # the platform's fee
    amount_cents: Mapped[int] = mapped_column(BigInteger)              # owed to the technician
    currency: Mapped[str] = mapped_column(String(3))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    auto_approved: Mapped[bool] = mapped_column(default=False)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[PayableStatus] = mapped_column(enum_column(PayableStatus, 10),
                                                  default=PayableStatus.PENDING)
    # The ledger transaction that moved the amount to the technician's payable account.
    transaction_id: Mapped[int] = mapped_column(LEDGER_ID, ForeignKey("ledger_transactions.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)

    assignment: Mapped[Assignment] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()
    firm: Mapped[Firm] = relationship()

    @property
    def gross_cents(self) -> int:
        """What the firm paid for it: the technician's amount plus the platform's fee."""
        return self.amount_cents + self.fee_cents
