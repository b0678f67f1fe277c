"""The ledger's tables: accounts, transactions, their immutable entries, and the deltas of
the rolled-up accounts not yet folded into a running balance (see ledger.py)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, ForeignKeyConstraint, Index,
                        Integer, String, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts.models import enum_column
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db

PLATFORM = 0          # owner_id of the platform's own accounts
# Transaction and entry ids, and every column naming one: 64-bit (a ledger is never
# pruned); SQLite's INTEGER is 64-bit already and only it is the rowid.
LEDGER_ID = BigInteger().with_variant(Integer, "sqlite")


class Kind(StrEnum):
    FIRM_AVAILABLE = "firm_available"
    FIRM_PENDING = "firm_pending"
    FIRM_RESERVED = "firm_reserved"
    FIRM_CREDIT = "firm_credit"
    TECH_PAYABLE = "tech_payable"
    TECH_IN_TRANSIT = "tech_in_transit"
    TECH_PAID_OUT = "tech_paid_out"
    PLATFORM_FEES = "platform_fees"
    PLATFORM_STRIPE_FEES = "platform_stripe_fees"
    PLATFORM_CLEARING = "platform_clearing"

    @property
    def is_platform(self) -> bool:
        return self.value.startswith("platform_")

    @property
    def rolled_up(self) -> bool:
        """Kept as appended deltas, never under a row lock (see the module's docstring)."""
        return self.is_platform

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class LedgerAccount(db.Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_id", "currency"),
        # The target of the entries' (account_id, currency) key: an entry's currency is its account's.
        UniqueConstraint("id", "currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, 24))
    owner_id: Mapped[int] = mapped_column(Integer, default=PLATFORM)   # firm, technician or 0
    currency: Mapped[str] = mapped_column(String(3))
    # The running balance; for a rolled-up account, as of its last roll-up (see balance()).
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def owner(self) -> int | None:
        return None if self.owner_id == PLATFORM else self.owner_id

    def __repr__(self) -> str:
        return f"<LedgerAccount {self.kind.value}:{self.owner_id} {self.currency}>"


class LedgerTransaction(db.Model):
    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_ref", "ref"),)

    id: Mapped[int] = mapped_column(LEDGER_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    memo: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(80))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "currency"],
                             ["ledger_accounts.id", "ledger_accounts.currency"]),
        CheckConstraint("amount_cents <> 0", name="nonzero"),
        Index("ix_ledger_entries_account", "account_id", "id"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(LEDGER_ID, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(LEDGER_ID, ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class LedgerDelta(db.Model):
    """A posted entry of a rolled-up account not yet folded into its running balance."""
    __tablename__ = "ledger_deltas"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(LEDGER_ID, primary_key=True, autoincrement=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
