"""notify(): one in-app row per user, plus an email through the outbox."""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..accounts.models import User
from ..core import clock, outbox
from ..errors import NotFound
from ..extensions import db
from .models import Notification


def notify(user: User, kind: str, title: str, body: str = "", *, link: str | None = None,
           email: bool = True, dedupe_key: str | None = None) -> Notification | None:
    """Add a notification; with a dedupe_key already used, do nothing and return None."""
    if dedupe_key and db.session.scalar(
            select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return None
    note = Notification(user_id=user.id, kind=kind, title=title, body=body, link=link,
                        dedupe_key=dedupe_key)
    db.session.add(note)
    db.session.flush()
    if email:
        send_email(user.email, title, body + (f"\n\n{link}" if link else ""))
    return note


def send_email(to: str, subject: str, body: str) -> None:
    """An email that leaves only if the current transaction commits (through the outbox)."""
    outbox.enqueue("email", {"to": to, "subject": subject, "body": body}, subject="email")


def list_for(user: User, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def access_notification(user: User, notification_id: int) -> Notification:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound()
    return note


def mark_read(user: User, note: Notification | None = None) -> int:
    stmt = update(Notification).where(Notification.user_id == user.id,
                                      Notification.read_at.is_(None))
    if note is not None:
        stmt = stmt.where(Notification.id == note.id)
    return db.session.execute(stmt.values(read_at=clock.now())).rowcount
