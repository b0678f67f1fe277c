"""notify(): one in-app row per user, plus an email through the outbox; notify_firm():
the same for every member of a firm."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import Select, func, select, update

from ..accounts.models import Membership, User
from ..core import clock, outbox
from ..errors import NotFound
from ..extensions import db
from . import preferences
from .models import Notification


def notify(user: User, kind: str, title: str, body: str = "", *, link: str | None = None,
           email: bool = True, dedupe_key: str | None = None) -> Notification | None:
    """Add a notification; with a dedupe_key already used, do nothing and return None."""
    if dedupe_key and db.session.scalar(
            select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return None
    choice = preferences.choice_for(user, kind)
    # In-app off: the row is still kept (it is the record, and the dedupe key's
    # home) but it does not ring the bell.
    note = Notification(user_id=user.id, kind=kind, title=title, body=body, link=link,
                        dedupe_key=dedupe_key, read_at=None if choice.in_app else clock.now(),
                        digest_pending=email and choice.digest)
    db.session.add(note)
    db.session.flush()
    if email and choice.email and not choice.digest:
        send_email(user.email, title, body + (f"\n\n{absolute(link)}" if link else ""))
    return note


def absolute(link: str) -> str:
    """A link in an email: the app's public address in front of a path."""
    if link.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + link
    return link


def notify_firm(firm_id: int, kind: str, title: str, body: str = "", *,
                link: str | None = None, email: bool = True,
                dedupe_key: str | None = None) -> list[Notification]:
    """Notify every member of the firm. A dedupe key is made per member, so each member
    is told once (a key shared by all would let only the first one hear of it)."""
    members = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                 .where(Membership.firm_id == firm_id).order_by(User.id)).all()
    sent = [notify(user, kind, title, body, link=link, email=email,
                   dedupe_key=f"{dedupe_key}-user-{user.id}" if dedupe_key else None)
            for user in members]
    return [note for note in sent if note is not None]


def send_email(to: str, subject: str, body: str) -> None:
    """An email that leaves only if the current transaction commits (through the outbox)."""
    outbox.enqueue("email", {"to": to, "subject": subject, "body": body}, subject=subject[:80])


def list_for(user: User, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(limit)))


def unread_query(user: User) -> Select:
    """The count of the user's unread notifications (every page shows it)."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))


def unread_count(user: User) -> int:
    return db.session.scalar(unread_query(user)) or 0


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


def send_digests(limit_users: int = 10_000) -> int:
    """One email per technician with the day's notifications they asked to get as a digest."""
    from ..accounts.models import User as UserModel
    rows = db.session.execute(
        select(Notification.id, Notification.user_id, Notification.title, Notification.body,
               Notification.link)
        .where(Notification.digest_pending.is_(True)).order_by(Notification.user_id,
                                                                Notification.id)).all()
    by_user: dict[int, list] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    users = {u.id: u for u in db.session.scalars(
        select(UserModel).where(UserModel.id.in_(list(by_user)[:limit_users])))} if by_user else {}
    sent = 0
    for user_id, items in list(by_user.items())[:limit_users]:
        user = users.get(user_id)
        if user is None:
            continue
        lines = [f"- {r.title}" + (f": {r.body}" if r.body else "")
                 + (f"\n  {absolute(r.link)}" if r.link else "") for r in items]
        count = len(items)
        send_email(user.email, f"Your Onsite digest: {count} "
                               f"{'update' if count == 1 else 'updates'}", "\n".join(lines))
        db.session.execute(update(Notification).where(
            Notification.id.in_([r.id for r in items]), Notification.digest_pending.is_(True))
            .values(digest_pending=False).execution_options(synchronize_session=False))
        sent += 1
    return sent
