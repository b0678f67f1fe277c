"""Messages: one thread per assignment and technician, between the firm and that technician.

Before assignment the thread is with a technician who holds an offer for the
work; after, with the assignee (earlier threads stay readable to both sides).
Technicians never see each other's threads. Firms announce to a talent pool's
active members; a member removed later hears nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from ..accounts.models import TechnicianProfile, User
from ..accounts.policy import firm_id_of, require_member
from ..core.links import path_for
from ..core.uploads import Upload, check_upload, store
from ..engage.access import technician_has_offer
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..find.models import Assignment, PoolMember, PoolMemberStatus, TalentPool
from ..notifications import webhooks
from ..notifications.services import notify, notify_firm
from .models import Announcement, Message, ThreadRead

MAX_BODY = 4000


@dataclass(frozen=True)
class Thread:
    assignment: Assignment
    technician: TechnicianProfile


def _thread_for_technician(user: User, assignment: Assignment) -> Thread:
    tech = user.technician
    if tech is None or not (assignment.assignee_id == tech.id or
                            technician_has_offer(tech.id, assignment.id) or
                            _has_messages(assignment.id, tech.id)):
        raise NotFound()
    return Thread(assignment, tech)


def _has_messages(assignment_id: int, technician_id: int) -> bool:
    return db.session.scalar(select(Message.id).where(
        Message.assignment_id == assignment_id, Message.technician_id == technician_id)
        .limit(1)) is not None


def access_thread(user: User, assignment_id: int, technician_id: int | None = None) -> Thread:
    """The firm's thread with `technician_id`, or the technician's own thread."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound()
    if getattr(user, "technician", None) is not None:
        return _thread_for_technician(user, assignment)
    if firm_id_of(user) != assignment.firm_id or technician_id is None:
        raise NotFound()
    tech = db.session.get(TechnicianProfile, technician_id)
    if tech is None or not (assignment.assignee_id == tech.id or
                            technician_has_offer(tech.id, assignment.id) or
                            _has_messages(assignment.id, tech.id)):
        raise NotFound()
    return Thread(assignment, tech)


def post(user: User, thread: Thread, body: str, upload: Upload | None = None) -> Message:
    body = (body or "").strip()
    has_file = upload is not None and bool(upload.data)
    if not body and not has_file:
        raise ValidationFailed.field("body", "Write a message or attach a file.")
    if len(body) > MAX_BODY or "\x00" in body:
        raise ValidationFailed.field("body", f"At most {MAX_BODY} characters.")
    from_firm = firm_id_of(user) == thread.assignment.firm_id
    message = Message(assignment_id=thread.assignment.id, technician_id=thread.technician.id,
                      author_id=user.id, from_firm=from_firm, body=body)
    if has_file:
        checked = check_upload(upload, field="file")
        message.file_key, message.file_mime = store(checked.data), checked.mime
        message.file_name = (upload.filename or "attachment")[-200:]
    db.session.add(message)
    db.session.flush()
    mark_read(user, thread)
    a = thread.assignment
    if from_firm:
        notify(thread.technician.user, "message.received", f"Message about {a.title}",
               body[:200] or "A file", link=path_for("manage.thread", work_id=a.id))
    else:
        notify_firm(a.firm_id, "message.received", f"{thread.technician.name} about {a.title}",
                    body[:200] or "A file", email=False,
                    link=path_for("manage.thread", work_id=a.id,
                                  technician_id=thread.technician.id))
    webhooks.emit(a.firm_id, "message.created", {
        "assignment_id": a.id, "technician_id": thread.technician.id, "message_id": message.id,
        "from_firm": from_firm})
    return message


def messages_of(thread: Thread) -> list[Message]:
    return list(db.session.scalars(select(Message).where(
        Message.assignment_id == thread.assignment.id,
        Message.technician_id == thread.technician.id).order_by(Message.id)))


def mark_read(user: User, thread: Thread) -> None:
    last = db.session.scalar(select(func.max(Message.id)).where(
        Message.assignment_id == thread.assignment.id,
        Message.technician_id == thread.technician.id)) or 0
    row = db.session.scalar(select(ThreadRead).where(
        ThreadRead.user_id == user.id, ThreadRead.assignment_id == thread.assignment.id,
        ThreadRead.technician_id == thread.technician.id))
    if row is None:
        db.session.add(ThreadRead(user_id=user.id, assignment_id=thread.assignment.id,
                                  technician_id=thread.technician.id, last_read_id=last))
    elif last > row.last_read_id:
        row.last_read_id = last
    db.session.flush()


def unread_count(user: User) -> int:
    """Messages from the other side, newer than what this user has read, in one query."""
    stmt = unread_query(user)
    return 0 if stmt is None else db.session.scalar(stmt) or 0


def unread_query(user: User) -> Select | None:
    """The count of messages from the other side newer than what the user has read
    (every page's navigation shows it); None for someone who has no threads (an
    admin, a firm user without a firm)."""
    read = (select(ThreadRead.last_read_id).where(
        ThreadRead.user_id == user.id, ThreadRead.assignment_id == Message.assignment_id,
        ThreadRead.technician_id == Message.technician_id).scalar_subquery())
    stmt = select(func.count()).select_from(Message).where(
        Message.id > func.coalesce(read, 0))
    tech = getattr(user, "technician", None)
    if tech is not None:
        stmt = stmt.where(Message.technician_id == tech.id, Message.from_firm.is_(True))
    else:
        firm_id = firm_id_of(user)
        if firm_id is None:
            return None
        stmt = stmt.join(Assignment, Assignment.id == Message.assignment_id).where(
            Assignment.firm_id == firm_id, Message.from_firm.is_(False))
    return stmt


def threads_for(user: User, limit: int = 50) -> list[dict]:
    """The user's threads, newest activity first, each with its unread count."""
    tech = getattr(user, "technician", None)
    last = (select(Message.assignment_id, Message.technician_id,
                   func.max(Message.id).label("last_id"))
            .group_by(Message.assignment_id, Message.technician_id))
    if tech is not None:
        last = last.where(Message.technician_id == tech.id)
    else:
        last = last.join(Assignment, Assignment.id == Message.assignment_id).where(
            Assignment.firm_id == firm_id_of(user))
    last = last.subquery()
    rows = db.session.execute(
        select(Message, Assignment, TechnicianProfile).join(last, Message.id == last.c.last_id)
        .join(Assignment, Assignment.id == Message.assignment_id)
        .join(TechnicianProfile, TechnicianProfile.id == Message.technician_id)
        .order_by(Message.id.desc()).limit(limit)).all()
    reads = {(r.assignment_id, r.technician_id): r.last_read_id for r in db.session.scalars(
        select(ThreadRead).where(ThreadRead.user_id == user.id))}
    return [{"last": m, "assignment": a, "technician": t,
             "unread": m.id > reads.get((a.id, t.id), 0) and m.from_firm == (tech is not None)}
            for m, a, t in rows]


def announce(user: User, pool: TalentPool, title: str, body: str) -> Announcement:
    """To the pool's active members now (later members see it on the pool page)."""
    require_member(user, pool.firm_id, message="Only the firm's members announce.")
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ValidationFailed.field("title", "Give it a title.")
    if not body or len(body) > MAX_BODY:
        raise ValidationFailed.field("body", f"Write the announcement (at most {MAX_BODY} "
                                             "characters).")
    members = db.session.scalars(select(TechnicianProfile).join(
        PoolMember, PoolMember.technician_id == TechnicianProfile.id).where(
        PoolMember.pool_id == pool.id, PoolMember.status == PoolMemberStatus.ACTIVE)).all()
    item = Announcement(pool_id=pool.id, author_id=user.id, title=title[:160], body=body,
                        recipients=len(members))
    db.session.add(item)
    db.session.flush()
    for tech in members:
        notify(tech.user, "pool.announcement", f"{pool.firm.name}: {title[:120]}", body[:500],
               link=path_for("find.my_pools"))
    return item
