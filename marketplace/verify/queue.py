"""The admin review queue: urgent renewals first, then the oldest; filters with their counts.

Urgent: a renewal whose current credential expires within the sweep's first
reminder horizon (or has expired already), the soonest first; everything else
waits in the order it came in. The filters (credential type, kind, age) are
counted in one grouped statement over the pending submissions, each filter's
counts taking the other filters into account.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased, joinedload

from ..accounts.models import TechnicianProfile, User
from ..errors import ValidationFailed
from ..extensions import db
from ..web.pagination import Page
from .models import Credential, CredentialKind, CredentialStatus, CredentialType
from .validity import REMINDER_DAYS

URGENT_DAYS = max(REMINDER_DAYS)
# key: (label, submitted at least `low` days ago, and less than `high` days ago)
AGES: dict[str, tuple[str, int, int | None]] = {
    "day": ("Under a day", 0, 1),
    "days": ("1–3 days", 1, 3),
    "week": ("3–7 days", 3, 7),
    "older": ("Over a week", 7, None),
}
_ID = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class QueueFilters:
    type_id: int | None = None
    kind: CredentialKind | None = None
    age: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "QueueFilters":
        """The filters of a query string; a value that names nothing is a field error."""
        type_raw, kind_raw, age_raw = ((args.get(k) or "").strip()
                                       for k in ("type", "kind", "age"))
        if type_raw and not _ID.fullmatch(type_raw):
            raise ValidationFailed.field("type", "Choose a credential type from the list.")
        kinds = {k.value: k for k in CredentialKind}
        if kind_raw and kind_raw not in kinds:
            raise ValidationFailed.field("kind", "Choose a kind of credential from the list.")
        if age_raw and age_raw not in AGES:
            raise ValidationFailed.field("age", "Choose how long it has waited from the list.")
        return cls(type_id=int(type_raw) if type_raw else None,
                   kind=kinds.get(kind_raw), age=age_raw or None)

    def args(self, **changes) -> dict[str, str]:
        """The query string of these filters with `changes` (None clears one)."""
        f = replace(self, **changes)
        out = {"type": f.type_id, "kind": f.kind.value if f.kind else None, "age": f.age}
        return {k: str(v) for k, v in out.items() if v is not None}


@dataclass
class Option:
    label: str
    count: int
    args: dict[str, str]
    selected: bool


@dataclass
class Facets:
    types: list[Option] = field(default_factory=list)
    kinds: list[Option] = field(default_factory=list)
    ages: list[Option] = field(default_factory=list)
    waiting: int = 0      # every pending submission
    matching: int = 0     # those the filters keep


@dataclass
class QueueRow:
    credential: Credential
    # The current credential a renewal replaces, when its expiry makes this one urgent.
    urgent_expiry: date | None = None

    def days_left(self, today: date) -> int | None:
        return (self.urgent_expiry - today).days if self.urgent_expiry else None


def _age_bucket(now: datetime):
    whens = [(Credential.submitted_at > now - timedelta(days=high), key)
             for key, (_, _, high) in AGES.items() if high is not None]
    return case(*whens, else_="older")


def _where(filters: QueueFilters, now: datetime) -> list:
    conditions = [Credential.status == CredentialStatus.PENDING]
    if filters.type_id is not None:
        conditions.append(Credential.credential_type_id == filters.type_id)
    if filters.kind is not None:
        conditions.append(Credential.credential_type_id.in_(
            select(CredentialType.id).where(CredentialType.kind == filters.kind)))
    if filters.age is not None:
        _, low, high = AGES[filters.age]
        conditions.append(Credential.submitted_at <= now - timedelta(days=low))
        if high is not None:
            conditions.append(Credential.submitted_at > now - timedelta(days=high))
    return conditions


def _stmt(filters: QueueFilters, now: datetime, today: date, limit: int,
          offset: int = 0) -> Select:
    """(credential, the urgent expiry of the credential it renews or None) of one page,
    in queue order. The page is chosen on the submissions alone (the expiry read by
    primary key for each: a join let the planner hash the whole table for the few
    renewals among the pending); only its rows are joined to their technician and type."""
    current = aliased(Credential)
    urgent = (select(current.expires_on)
              .where(current.id == Credential.supersedes_id,
                     current.status.in_([CredentialStatus.APPROVED, CredentialStatus.EXPIRED]),
                     current.expires_on <= today + timedelta(days=URGENT_DAYS))
              .scalar_subquery())
    chosen = (select(Credential.id, urgent.label("urgent_expiry"))
              .where(*_where(filters, now))
              .order_by(urgent.asc().nulls_last(), Credential.submitted_at, Credential.id)
              .limit(limit).offset(offset).subquery())
    return (select(Credential, chosen.c.urgent_expiry)
            .join(chosen, chosen.c.id == Credential.id)
            .options(joinedload(Credential.technician)
                     .load_only(TechnicianProfile.id, TechnicianProfile.user_id)
                     .joinedload(TechnicianProfile.user).load_only(User.id, User.name),
                     joinedload(Credential.credential_type))
            .order_by(chosen.c.urgent_expiry.asc().nulls_last(), Credential.submitted_at,
                      Credential.id))


def review_page(filters: QueueFilters, page: int, per_page: int, *, now: datetime,
                today: date) -> tuple[Page, Facets]:
    """One page of the queue, each row saying why it is urgent, and the filters' counts
    (whose count of matching submissions is the page's total)."""
    counts = facets(filters, now=now)
    rows = db.session.execute(_stmt(filters, now, today, per_page,
                                    (page - 1) * per_page)).all()
    return (Page(items=[QueueRow(cred, urgent) for cred, urgent in rows], page=page,
                 per_page=per_page, total=counts.matching), counts)


def review_queue(limit: int, *, now: datetime, today: date) -> list[Credential]:
    """The first `limit` pending submissions in queue order, unfiltered."""
    return [cred for cred, _ in db.session.execute(
        _stmt(QueueFilters(), now, today, limit)).all()]


def facets(filters: QueueFilters, *, now: datetime) -> Facets:
    """Counts for every filter option, from one grouped statement over pending submissions.

    Each dimension's counts apply the other dimensions' filters, not its own, so an
    option's count is what choosing it would show."""
    waiting = (select(Credential.credential_type_id.label("type_id"),
                      _age_bucket(now).label("age"))
               .where(Credential.status == CredentialStatus.PENDING).subquery())
    rows = db.session.execute(
        select(CredentialType.id, CredentialType.name, CredentialType.kind, waiting.c.age,
               func.count())
        .join(waiting, waiting.c.type_id == CredentialType.id)
        .group_by(CredentialType.id, CredentialType.name, CredentialType.kind, waiting.c.age)
        .order_by(CredentialType.name, CredentialType.id)).all()

    def count(*, skip: str | None = None, **values) -> int:
        """Rows kept by every filter but `skip`, with `values` narrowing further."""
        wanted = {"type": filters.type_id, "kind": filters.kind, "age": filters.age}
        if skip:
            wanted[skip] = None
        wanted.update(values)
        return sum(n for tid, _, kind, age, n in rows
                   if (wanted["type"] is None or tid == wanted["type"])
                   and (wanted["kind"] is None or kind == wanted["kind"])
                   and (wanted["age"] is None or age == wanted["age"]))

    out = Facets(waiting=sum(r[-1] for r in rows))
    out.matching = count()
    names = {tid: name for tid, name, *_ in rows}
    if filters.type_id is not None and filters.type_id not in names:
        chosen = db.session.get(CredentialType, filters.type_id)
        names[filters.type_id] = chosen.name if chosen else "Unknown type"
    out.types = [Option("All types", count(skip="type"), filters.args(type_id=None),
                        filters.type_id is None)]
    out.types += [Option(name, count(skip="type", type=tid), filters.args(type_id=tid),
                         filters.type_id == tid) for tid, name in names.items()]
    out.kinds = [Option("All kinds", count(skip="kind"), filters.args(kind=None),
                        filters.kind is None)]
    kinds_waiting = {kind for _, _, kind, _, _ in rows}
    out.kinds += [Option(k.label, count(skip="kind", kind=k), filters.args(kind=k),
                         filters.kind == k)
                  for k in CredentialKind if k in kinds_waiting or k == filters.kind]
    out.ages = [Option("Any age", count(skip="age"), filters.args(age=None), filters.age is None)]
    out.ages += [Option(label, count(skip="age", age=key), filters.args(age=key),
                        filters.age == key) for key, (label, _, _) in AGES.items()]
    return out
