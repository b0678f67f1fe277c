"""How the outbox's email rows reach people: one SMTP message per row.

A row carries either the message itself (`to`, `subject`, `body`) or the id of
an in-app notification to send as email (the sweep writes thousands at once).
The row's key is the email's Message-ID, so a redelivery after a crash is
recognisable as the same message.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..core.outbox import Channel, OutboxMessage
from ..extensions import db
from ..integrations import mail
from .models import Notification


def _compose(payload: dict) -> mail.Mail | None:
    if "notification_id" not in payload:
        return mail.Mail(to=payload["to"], subject=payload["subject"], body=payload["body"])
    row = db.session.execute(
        select(User.email, Notification.title, Notification.body, Notification.link)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id == payload["notification_id"])).first()
    if row is None:
        return None
    email, title, body, link = row
    return mail.Mail(to=email, subject=title, body=body + (f"\n\n{link}" if link else ""))


def deliver_email(payload: dict, message: OutboxMessage) -> None:
    composed = _compose(payload)
    db.session.rollback()
    if composed is None:
        current_app.logger.warning("outbox email %s: nothing to send", message.message_id)
        return
    mail.send(composed, message_id=message.message_id)


EMAIL = Channel(deliver=deliver_email, max_attempts=8, batch=mail.connection)


def recent(status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The outbox as an admin sees it: newest first, optionally one status."""
    from ..core.outbox import OutboxStatus
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(),
                                          OutboxMessage.id.desc()).limit(limit)
    if status in {s.value for s in OutboxStatus}:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(db.session.scalars(stmt))


def described(messages: list[OutboxMessage]) -> dict[int, tuple[str, str]]:
    """What each message is and where it goes, as the admin's outbox page lists them: an
    email's subject and recipient (a notice's from its notification, in one query), else
    the label it was queued with and what it refers to."""
    notice_ids = {m.payload.get("notification_id") for m in messages
                  if m.channel == "email" and isinstance(m.payload, dict)} - {None}
    notices = {nid: (title, email) for nid, title, email in db.session.execute(
        select(Notification.id, Notification.title, User.email)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(notice_ids)))} if notice_ids else {}
    out = {}
    for m in messages:
        payload = m.payload if isinstance(m.payload, dict) else {}
        if m.channel == "email" and "to" in payload:
            out[m.id] = (str(payload.get("subject", "")), f"to {payload['to']}")
        elif m.channel == "email" and payload.get("notification_id") in notices:
            title, email = notices[payload["notification_id"]]
            out[m.id] = (title, f"to {email}")
        else:
            out[m.id] = (m.subject or m.channel, m.ref or "")
    return out


def counts() -> dict[str, int]:
    from sqlalchemy import func
    return {str(status): n for status, n in db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))}


def resend_as_admin(message_id: int) -> None:
    from ..core import outbox
    from ..errors import NotFound
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    outbox.resend(message)
