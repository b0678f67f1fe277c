"""Reading the audit log, for platform admins: filters by actor, firm, action, subject
and a date range (UTC days), newest first, with the actors' and firms' names."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, select

from ..core.actions import Action
from ..core.audit import AuditEntry
from ..errors import ValidationFailed
from ..extensions import db
from ..web.pagination import Page, paginate
from .models import Firm, User
from .people import name_contains

_ID = re.compile(r"^#?\s*(\d{1,10})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(raw: str, name: str, fields: dict) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if not _DAY.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        fields[name] = "Use a date like 2026-03-31."
        return None


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""          # a user's id ("#12"), email or part of their name
    firm: str = ""           # a firm's id or part of its name
    action: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    since: date | None = None
    until: date | None = None   # inclusive

    @property
    def filtered(self) -> bool:
        return any((self.actor, self.firm, self.action, self.subject_type,
                    self.subject_id is not None, self.since, self.until))

    def args(self) -> dict[str, Any]:
        """The query as page arguments (for the pager and links)."""
        return {k: v for k, v in (
            ("actor", self.actor), ("firm", self.firm), ("action", self.action),
            ("subject", self.subject_type), ("subject_id", self.subject_id),
            ("since", self.since.isoformat() if self.since else ""),
            ("until", self.until.isoformat() if self.until else "")) if v not in ("", None)}

    @classmethod
    def from_args(cls, args) -> "AuditQuery":
        fields: dict[str, str] = {}
        action = (args.get("action") or "").strip()
        if action and action not in {a.value for a in Action}:
            fields["action"] = "Choose an action from the list."
        subject_type = (args.get("subject") or "").strip()[:40]
        if subject_type and not re.fullmatch(r"[a-z_]+", subject_type):
            fields["subject"] = "Choose a kind of subject from the list."
        raw_id = (args.get("subject_id") or "").strip()
        subject_id = None
        if raw_id:
            match = _ID.match(raw_id)
            if match is None or not 1 <= int(match.group(1)) <= 2**31 - 1:
                fields["subject_id"] = "A subject id is a whole number."
            else:
                subject_id = int(match.group(1))
        since, until = _day(args.get("since", ""), "since", fields), \
            _day(args.get("until", ""), "until", fields)
        if since and until and since > until:
            fields["until"] = "The end of the range comes before its start."
        if fields:
            raise ValidationFailed("Check the filters.", fields=fields)
        return cls(actor=" ".join((args.get("actor") or "").split())[:200],
                   firm=" ".join((args.get("firm") or "").split())[:200], action=action,
                   subject_type=subject_type, subject_id=subject_id, since=since, until=until)


def _named(model, text: str, condition):
    """Ids of `model` rows named by `text`: "#12" or 12, else those matching `condition`
    (a subquery, so the search stays one statement)."""
    match = _ID.match(text)
    if match:
        return select(model.id).where(model.id == int(match.group(1)))
    return select(model.id).where(condition)


def audit_stmt(query: AuditQuery) -> Select:
    stmt = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    if query.actor:
        actors = _named(User, query.actor, (User.email == query.actor.lower())
                        | name_contains(User.name, query.actor))
        stmt = stmt.where(AuditEntry.actor_id.in_(actors))
    if query.firm:
        firms = _named(Firm, query.firm, name_contains(Firm.name, query.firm))
        stmt = stmt.where(AuditEntry.firm_id.in_(firms))
    if query.action:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.subject_type:
        stmt = stmt.where(AuditEntry.subject_type == query.subject_type)
    if query.subject_id is not None:
        stmt = stmt.where(AuditEntry.subject_id == query.subject_id)
    if query.since:
        stmt = stmt.where(AuditEntry.occurred_at >= datetime.combine(
            query.since, time(0), timezone.utc))
    if query.until:
        stmt = stmt.where(AuditEntry.occurred_at < datetime.combine(
            query.until + timedelta(days=1), time(0), timezone.utc))
    return stmt


@dataclass
class AuditRow:
    entry: AuditEntry
    actor: User | None
    firm: Firm | None
    changes: list[str] = field(default_factory=list)


def _short(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def describe_changes(entry: AuditEntry) -> list[str]:
    """"status: active → suspended" for each key that changed, "key: value" for the rest."""
    before, after = entry.before or {}, entry.after or {}
    lines = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in before and key in after:
            if before[key] != after[key]:
                lines.append(f"{key}: {_short(before[key])} → {_short(after[key])}")
        elif key in after:
            lines.append(f"{key}: {_short(after[key])}")
        else:
            lines.append(f"{key} was {_short(before[key])}")
    return lines


def with_names(entries: list[AuditEntry]) -> list[AuditRow]:
    """The entries with their actors and firms, two statements for the lot."""
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    firm_ids = {e.firm_id for e in entries if e.firm_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_(actor_ids)))} if actor_ids else {}
    firms = {f.id: f for f in db.session.scalars(select(Firm).where(
        Firm.id.in_(firm_ids)))} if firm_ids else {}
    return [AuditRow(e, users.get(e.actor_id), firms.get(e.firm_id), describe_changes(e))
            for e in entries]


def search_audit(query: AuditQuery, page: int, per_page: int) -> Page:
    found = paginate(audit_stmt(query), page, per_page)
    found.items = with_names(found.items)
    return found


def recent_for(subject_type: str, subject_id: int, limit: int = 10) -> list[AuditRow]:
    return with_names(list(db.session.scalars(
        audit_stmt(AuditQuery(subject_type=subject_type, subject_id=subject_id)).limit(limit))))


def subject_types() -> list[str]:
    """The kinds of subject rows are written about (table names, and "system")."""
    return sorted({*db.metadata.tables, "system"})
