"""The durable outbox: everything that leaves the process (email, webhooks, Stripe calls).

A row is written in the caller's transaction, so it exists exactly when the
change it reports was committed. After commit a relay task delivers due rows
(eagerly in the embedded default, by a Celery worker otherwise, and by
`flask outbox deliver` for cron). Each delivery claims its row with a lease,
calls the channel's deliverer outside any transaction, then marks it sent with
a conditional UPDATE, so a row is marked sent exactly once. A crash between
the delivery and the mark redelivers after the lease: deliverers pass the row's
key (`message_id`) to the receiver so that it can drop the duplicate. Failures
are retried with exponential backoff and jitter; a row that has used its
attempts is `dead`, kept for the admin to see and resend.
"""
from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import JSON, Enum, Index, Integer, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import celery, db
from . import clock
from .hooks import hooks
from .transactions import on_commit
from .types import UTCDateTime

CHANNELS_HOOK = "outbox_channels"
LEASE = timedelta(minutes=2)


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique and stable: the idempotency key a receiver sees (webhook-id, Message-ID, Stripe key).
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=10,
             values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What it reports, for the admin's page and the firm's delivery log.
    subject: Mapped[str | None] = mapped_column(String(80))


Deliverer = Callable[[dict, OutboxMessage], None]


@dataclass(frozen=True)
class Channel:
    deliver: Deliverer
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)


def register_channel(app, name: str, channel: Channel) -> None:
    hooks(app).put(CHANNELS_HOOK, name, channel)


def _channel(name: str) -> Channel:
    channel = hooks().mapping(CHANNELS_HOOK).get(name)
    if channel is None:
        raise LookupError(f"no outbox channel {name!r}")
    return channel


def enqueue(channel: str, payload: dict, *, subject: str | None = None,
            message_id: str | None = None, deliver_at: datetime | None = None) -> OutboxMessage:
    """Add a message to the caller's transaction; it is relayed after commit."""
    spec = _channel(channel)
    message = OutboxMessage(message_id=message_id or uuid.uuid4().hex, channel=channel,
                            payload=payload, subject=subject, max_attempts=spec.max_attempts,
                            next_attempt_at=deliver_at or clock.now())
    db.session.add(message)
    _relay_after_commit()
    return message


def enqueue_many(channel: str, payloads: list[dict], *, subject: str | None = None) -> int:
    """Set-based: one multi-row INSERT (the sweep's thousands of emails)."""
    if not payloads:
        return 0
    spec = _channel(channel)
    stamp = clock.now()
    db.session.execute(insert(OutboxMessage), [
        {"message_id": uuid.uuid4().hex, "channel": channel, "payload": payload,
         "subject": subject, "status": OutboxStatus.PENDING, "attempts": 0,
         "max_attempts": spec.max_attempts, "next_attempt_at": stamp, "created_at": stamp}
        for payload in payloads])
    _relay_after_commit()
    return len(payloads)


_SCHEDULED = "outbox_relay_scheduled"


def _relay_after_commit() -> None:
    """One relay per transaction, started only if it commits."""
    if db.session.info.get(_SCHEDULED):
        return
    db.session.info[_SCHEDULED] = True
    app = current_app._get_current_object()

    def _start() -> None:
        if app.config.get("OUTBOX_RELAY_AFTER_COMMIT", True):
            with app.app_context():
                relay_task.delay()

    on_commit(_start)
    on_commit(lambda: db.session.info.pop(_SCHEDULED, None))


def backoff(attempts: int, base: timedelta, rng: random.Random | None = None) -> timedelta:
    """Exponential with full jitter on the upper half: base * 2^(n-1) * [0.5, 1)."""
    factor = 2 ** max(attempts - 1, 0) * (0.5 + (rng or random).random() / 2)
    return base * factor


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def _claim(limit: int, channel: str | None) -> list[tuple[int, str]]:
    """Lease up to `limit` due rows (committed at once, so other relays skip them)."""
    now = clock.now()
    token = uuid.uuid4().hex
    due = (select(OutboxMessage.id)
           .where(OutboxMessage.status == OutboxStatus.PENDING,
                  OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if channel:
        due = due.where(OutboxMessage.channel == channel)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if not ids:
        db.session.rollback()
        return []
    # The lease: push next_attempt_at out; a crashed relay's rows come due again after it.
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE, lease_token=token,
                attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)).scalars().all()
    db.session.commit()
    return [(i, token) for i in sorted(claimed)]


def relay(limit: int = 500, channel: str | None = None, *, rounds: int = 100) -> RelayResult:
    """Deliver due messages. Owns its transactions: call it outside a request's."""
    result = RelayResult()
    for _ in range(rounds):
        claimed = _claim(limit, channel)
        if not claimed:
            break
        for message_id, token in claimed:
            _deliver_one(message_id, token, result)
    return result


def _deliver_one(row_id: int, token: str, result: RelayResult) -> None:
    message = db.session.get(OutboxMessage, row_id)
    if message is None or message.lease_token != token:
        db.session.rollback()
        return
    payload, channel_name = dict(message.payload), message.channel
    attempts, max_attempts = message.attempts, message.max_attempts
    db.session.rollback()  # no transaction is held while talking to the outside
    error: str | None = None
    try:
        _channel(channel_name).deliver(payload, message)
    except Exception as exc:  # any failure is retried; the row keeps the reason
        error = f"{type(exc).__name__}: {exc}"[:2000]
    now = clock.now()
    mine = (OutboxMessage.id == row_id, OutboxMessage.lease_token == token,
            OutboxMessage.status == OutboxStatus.PENDING)
    if error is None:
        values: dict[str, Any] = {"status": OutboxStatus.SENT, "sent_at": now,
                                  "lease_token": None, "last_error": None}
        result.sent += db.session.execute(update(OutboxMessage).where(*mine)
                                          .values(**values)).rowcount
    else:
        spec = _channel(channel_name)
        if attempts >= max_attempts:
            values = {"status": OutboxStatus.DEAD, "last_error": error, "lease_token": None}
            result.dead += 1
        else:
            values = {"next_attempt_at": now + backoff(attempts, spec.base_delay),
                      "last_error": error, "lease_token": None}
            result.failed += 1
        db.session.execute(update(OutboxMessage).where(*mine).values(**values))
        current_app.logger.warning("outbox %s delivery %s failed: %s", channel_name, row_id, error)
    db.session.commit()


def resend(message: OutboxMessage) -> None:
    """Put a sent or dead message back in the queue (same key: receivers dedupe)."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
        status=OutboxStatus.PENDING, next_attempt_at=clock.now(), attempts=0,
        lease_token=None))
    _relay_after_commit()



@celery.task(name="marketplace.outbox.relay")
def relay_task(channel: str | None = None) -> dict:
    """Deliver the due messages (after each commit that adds some, and every 30 s)."""
    result = relay(channel=channel)
    return {"sent": result.sent, "failed": result.failed, "dead": result.dead}
