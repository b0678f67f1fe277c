"""A notification to one user: shown in the app, optionally emailed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, text)
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
    # Waiting for the person's daily digest email.
    # Server-side default only: the sweep's set-based INSERT ... SELECT leaves it out.
    digest_pending: Mapped[bool] = mapped_column(Boolean, server_default=false())


class WebhookEndpoint(db.Model):
    """A firm's URL that hears about the event types it chose, signed with its secret."""
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(80))
    # During a rotation the previous secret still signs, until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(80))
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class NotificationPreference(db.Model):
    """One person's channels for one group of events."""
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    group: Mapped[str] = mapped_column(String(20))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
