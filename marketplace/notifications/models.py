"""A notification to one user: shown in the app, optionally emailed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db

# Only keyed notifications need the uniqueness check, so only they are indexed for it.
DEDUPE_KEYED = text("dedupe_key IS NOT NULL")


class Notification(db.Model):
    """An append-only outbox written in bulk by the daily sweep (thousands of rows at
    once). `user_id` is deliberately not a foreign key: accounts are disabled, never
    deleted, and the per-row constraint check was over a third of the sweep's insert
    cost. Writers take the id from a users row they have just read or joined."""
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),
        Index("uq_notifications_dedupe_key", "dedupe_key", unique=True,
              sqlite_where=DEDUPE_KEYED, postgresql_where=DEDUPE_KEYED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    # Reminders and alerts that must go out once carry a key; a second send is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
