"""The append-only audit log: who did what to which object, before and after.

A transaction's audit rows are kept as it records them and written together, by one
INSERT: before the transaction reads anything through the session (so it reads its
own rows), and last before it commits. A savepoint rolled back drops the rows
recorded inside it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import JSON, ForeignKey, Index, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import TextClause

from ..extensions import db
from . import clock
from .statements import built_once
from .transactions import before_commit, keep_scoped, savepoint_scoped
from .types import UTCDateTime


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_firm_time", "firm_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(40))


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target):
    raise RuntimeError("the audit log is append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise RuntimeError("the audit log is append-only")


def record(action: str, subject: Any = None, *, actor: Any = None, firm_id: int | None = None,
           before: dict | None = None, after: dict | None = None,
           subject_type: str | None = None, subject_id: int | None = None) -> None:
    """An audit row of the current transaction (the caller commits): written with the
    transaction's others."""
    if subject is not None:
        subject_type = subject_type or subject.__tablename__
        subject_id = subject_id if subject_id is not None else subject.id
    _keep([{
        "occurred_at": clock.now(), "actor_id": getattr(actor, "id", actor),
        "action": action, "subject_type": subject_type or "system",
        "subject_id": subject_id, "firm_id": firm_id,
        "before": _jsonable(before), "after": _jsonable(after),
        "request_id": g.get("request_id") if has_request_context() else None}])


_PENDING = "audit_pending"
savepoint_scoped(_PENDING)


def _keep(rows: list[dict]) -> None:
    session = db.session()
    if session.get_transaction() is None:
        session.connection()    # begin: the rows belong to this transaction
    keep_scoped(session, _PENDING, rows)


def write_pending(session: Session | None = None) -> None:
    """Write the rows kept so far (one INSERT)."""
    session = session if session is not None else db.session()
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.execute(built_once(("audit.insert",), _insert), [row for _, row in pending])


def _insert():
    return insert(AuditEntry.__table__)


@event.listens_for(Session, "do_orm_execute")
def _before_a_read(state) -> None:
    """A read sees the transaction's own audit rows."""
    if state.session.info.get(_PENDING) and (
            state.is_select or isinstance(state.statement, TextClause)):
        write_pending(state.session)


before_commit(write_pending, last=True)


def record_many(action: str, subject_type: str, rows: list[dict], *,
                actor: Any = None, firm_id: int | None = None) -> int:
    """Set-based: one audit row per item of `rows` ({"subject_id", "before", "after"}).

    For sweeps that change thousands of subjects at once, and runs of changes (the
    caller commits); written with the transaction's others.
    """
    if not rows:
        return 0
    stamp = clock.now()
    actor_id = getattr(actor, "id", actor)
    request_id = g.get("request_id") if has_request_context() else None
    _keep([
        {"occurred_at": stamp, "actor_id": actor_id, "action": action,
         "subject_type": subject_type, "subject_id": row.get("subject_id"), "firm_id": firm_id,
         "before": _jsonable(row.get("before")), "after": _jsonable(row.get("after")),
         "request_id": request_id}
        for row in rows])
    return len(rows)


def _jsonable(data: dict | None) -> dict | None:
    if data is None:
        return None
    out = {}
    for key, value in data.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "value") and not isinstance(value, (int, str, float)):
            value = value.value
        out[key] = value
    return out


def list_for_subject(subject_type: str, subject_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(
        db.select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.occurred_at, AuditEntry.id)
    ))
