"""Celery task for the daily expiry sweep (beat schedule in marketplace.jobs)."""
from __future__ import annotations

from datetime import date

from ..extensions import celery

EMAIL_BATCH = 500


@celery.task(name="marketplace.verify.sweep")
def sweep(on: str | None = None) -> dict:
    from .expiry import run_sweep
    result = run_sweep(date.fromisoformat(on) if on else None)
    return {"on": result.on.isoformat(), "reminders": result.reminders,
            "expired": result.expired, "suspended": result.suspended}


@celery.task(name="marketplace.verify.email_notifications")
def email_notifications(notification_ids: list[int]) -> int:
    """Email a batch of in-app notifications the sweep wrote (one connection per batch)."""
    from sqlalchemy import select

    from ..accounts.models import User
    from ..extensions import db
    from ..integrations import mail
    from ..notifications.models import Notification
    rows = db.session.execute(
        select(User.email, Notification.title, Notification.body, Notification.link)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(notification_ids)).order_by(Notification.id)).all()
    for email, title, body, link in rows:
        mail.send(mail.Mail(to=email, subject=title, body=body + (f"\n\n{link}" if link else "")))
    return len(rows)


@celery.task(name="marketplace.verify.email_notification_batches")
def email_notification_batches(notification_ids: list[int]) -> int:
    """Split one sweep's notifications into email batches for the workers."""
    for i in range(0, len(notification_ids), EMAIL_BATCH):
        email_notifications.delay(notification_ids[i:i + EMAIL_BATCH])
    return len(notification_ids)
