"""The durable outbox: everything that leaves the process (email, webhooks, Stripe calls).

A row is written in the caller's transaction, so it exists exactly when the
change it reports was committed. After commit a relay task delivers due rows
(eagerly in the embedded default, by a Celery worker otherwise, and by
`flask outbox deliver` for cron). A relay claims a batch of due rows with a
lease in one UPDATE ... RETURNING that also brings what the deliverers need,
calls each row's deliverer outside any transaction, then marks it sent with a
conditional UPDATE on its lease, so a row is marked sent exactly once. A
delivery starts only in the first half of the lease, so it ends before
another relay may take the row. A crash between the delivery and the mark
redelivers after the lease: deliverers pass the row's key (`message_id`) to
the receiver so that it can drop the duplicate. Failures are retried with
exponential backoff and jitter; a row that has used its attempts is `dead`,
kept for the admin to see and resend. A channel may open something for the
whole relay run (one SMTP connection, one HTTP session): its `batch`.
"""
from __future__ import annotations

import enum
import random
import time
import uuid
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import (
    JSON,
    Enum,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import celery, db
from . import clock
from .hooks import hooks
from .transactions import on_commit
from .types import UTCDateTime

CHANNELS_HOOK = "outbox_channels"
LEASE = timedelta(minutes=2)   # the default; OUTBOX_LEASE_SECONDS overrides it
# Delivered rows are marked sent together: this many, or those delivered within this many
# seconds (a crash redelivers at most these).
MARK_EVERY = 25
MARK_WITHIN = 0.25


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        # In the claim's order, so a claim reads its rows rather than sorting all due.
        Index("ix_outbox_due", "status", "next_attempt_at", "id"),
        Index("ix_outbox_ref", "ref", "created_at"),
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
    # Whose it is, e.g. "webhook_endpoint:12": the firm's delivery log reads by it.
    ref: Mapped[str | None] = mapped_column(String(40))
    # The receiver's answer to the last attempt (an HTTP status), when it gave one.
    last_status: Mapped[int | None] = mapped_column(Integer)


Deliverer = Callable[[dict, OutboxMessage], "int | None"]


class DeliveryFailed(Exception):
    """A deliverer's failure with the receiver's status code, to keep on the row."""

    def __init__(self, message: str, status: int | None = None, *, final: bool = False):
        super().__init__(message)
        self.status = status
        self.final = final  # no point retrying (e.g. 410 Gone)


@dataclass(frozen=True)
class Channel:
    """`deliver(payload, message)` sends or raises; it may return the receiver's status.
    `on_dead(payload, message)` runs (in its own transaction) when a message gives up.
    `batch()`, when given, is a context manager entered before a relay run's first
    delivery on the channel and left after its last: what the deliveries share (one
    SMTP connection, one HTTP session), kept by the channel's adapter."""
    deliver: Deliverer
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    on_dead: Callable[[dict, OutboxMessage], None] | None = None
    batch: Callable[[], AbstractContextManager] | None = None


def register_channel(app, name: str, channel: Channel) -> None:
    hooks(app).put(CHANNELS_HOOK, name, channel)


def _channel(name: str) -> Channel:
    channel = hooks().mapping(CHANNELS_HOOK).get(name)
    if channel is None:
        raise LookupError(f"no outbox channel {name!r}")
    return channel


def enqueue(channel: str, payload: dict, *, subject: str | None = None,
            message_id: str | None = None, deliver_at: datetime | None = None,
            ref: str | None = None) -> OutboxMessage:
    """Add a message to the caller's transaction; it is relayed after commit."""
    spec = _channel(channel)
    message = OutboxMessage(message_id=message_id or uuid.uuid4().hex, channel=channel,
                            payload=payload, subject=subject, max_attempts=spec.max_attempts,
                            next_attempt_at=deliver_at or clock.now(), ref=ref)
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


def new_key() -> str:
    """A fresh message key (the idempotency key receivers see)."""
    return uuid.uuid4().hex


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


def _lease() -> timedelta:
    seconds = current_app.config.get("OUTBOX_LEASE_SECONDS")
    return timedelta(seconds=seconds) if seconds else LEASE


@dataclass(frozen=True)
class _Claim:
    token: str
    start_before: datetime          # deliveries start in the first half of the lease
    messages: list[OutboxMessage]   # detached copies of the claimed rows


def _claim(limit: int, channel: str | None) -> _Claim | None:
    """Lease up to `limit` due rows and read them, in one statement (committed at once,
    so other relays skip them)."""
    now = clock.now()
    token = uuid.uuid4().hex
    lease = _lease()
    due = (select(OutboxMessage.id)
           .where(OutboxMessage.status == OutboxStatus.PENDING,
                  OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if channel:
        due = due.where(OutboxMessage.channel == channel)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Chosen once (a subquery could be run again for each row updated, and each run
    # would find the next rows due). The lease: push next_attempt_at out; a crashed
    # relay's rows come due again after it. A row is claimed only if it is still due.
    chosen = due.cte("due").prefix_with("MATERIALIZED")
    rows = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(chosen.c.id)),
               OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + lease, lease_token=token,
                attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.channel,
                   OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.max_attempts)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    if not rows:
        return None
    messages = [OutboxMessage(id=r.id, message_id=r.message_id, channel=r.channel,
                              payload=r.payload, attempts=r.attempts,
                              max_attempts=r.max_attempts, lease_token=token,
                              status=OutboxStatus.PENDING)
                for r in sorted(rows, key=lambda r: r.id)]
    return _Claim(token, now + lease / 2, messages)


def relay(limit: int = 500, channel: str | None = None, *, rounds: int = 100) -> RelayResult:
    """Deliver due messages. Owns its transactions: call it outside a request's."""
    result = RelayResult()
    with ExitStack() as batches:
        opened: set[str] = set()
        for _ in range(rounds):
            claim = _claim(limit, channel)
            if claim is None:
                break
            delivered = _Delivered(claim.token, result)
            try:
                for message in claim.messages:
                    if clock.now() >= claim.start_before:
                        break   # the rest come due again when the lease ends
                    spec = _channel(message.channel)
                    if message.channel not in opened:
                        opened.add(message.channel)
                        if spec.batch is not None:
                            batches.enter_context(spec.batch())
                    _deliver_one(message, claim.token, spec, result, delivered)
            finally:
                delivered.mark()
    return result


class _Delivered:
    """Delivered rows waiting to be marked sent: marked together, MARK_EVERY at a time or
    after MARK_WITHIN seconds, each by the same conditional UPDATE on its lease (so still
    exactly once). A crash before the mark redelivers them after the lease."""

    def __init__(self, token: str, result: RelayResult):
        self.token, self.result = token, result
        self.rows: list[dict] = []
        self.since = 0.0

    def add(self, row_id: int, status: int | None) -> None:
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append({"row_id": row_id, "code": status})
        if len(self.rows) >= MARK_EVERY or time.monotonic() - self.since >= MARK_WITHIN:
            self.mark()

    def mark(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        table = OutboxMessage.__table__
        mine = update(table).where(table.c.id == bindparam("row_id"),
                                   table.c.lease_token == self.token,
                                   table.c.status == OutboxStatus.PENDING)
        self.result.sent += db.session.connection().execute(mine.values(
            status=OutboxStatus.SENT, sent_at=clock.now(), lease_token=None, last_error=None,
            last_status=bindparam("code")), rows).rowcount
        db.session.commit()


def _deliver_one(message: OutboxMessage, token: str, spec: Channel, result: RelayResult,
                 delivered: _Delivered) -> None:
    payload, row_id = dict(message.payload), message.id
    error: str | None = None
    status: int | None = None
    final = False
    try:
        status = spec.deliver(payload, message)
    except DeliveryFailed as exc:
        error, status, final = str(exc)[:2000], exc.status, exc.final
    except Exception as exc:  # any failure is retried; the row keeps the reason
        error = f"{type(exc).__name__}: {exc}"[:2000]
    db.session.rollback()   # whatever the deliverer read: no transaction spans the mark
    if error is None:
        delivered.add(row_id, status)
        return
    now = clock.now()
    mine = (OutboxMessage.id == row_id, OutboxMessage.lease_token == token,
            OutboxMessage.status == OutboxStatus.PENDING)
    dead = False
    if final or message.attempts >= message.max_attempts:
        values: dict[str, Any] = {"status": OutboxStatus.DEAD, "last_error": error,
                                  "lease_token": None, "last_status": status}
        result.dead += 1
        dead = True
    else:
        values = {"next_attempt_at": now + backoff(message.attempts, spec.base_delay),
                  "last_error": error, "lease_token": None, "last_status": status}
        result.failed += 1
    dead = db.session.execute(
        update(OutboxMessage).where(*mine).values(**values)
        .execution_options(synchronize_session=False)).rowcount == 1 and dead
    current_app.logger.warning("outbox %s delivery %s failed: %s", message.channel,
                               row_id, error)
    db.session.commit()
    if dead and spec.on_dead is not None:
        try:
            spec.on_dead(payload, db.session.get(OutboxMessage, row_id))
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("outbox %s on_dead for %s failed", message.channel,
                                         row_id)


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
