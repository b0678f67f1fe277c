"""Which channels each person wants, per kind of event: in the app, by email, or (for
technicians) in one daily digest email instead.

Kinds are grouped the way people think of them; a notification's kind
("offer.received", "work.no_show"...) belongs to the group of its prefix.
Without a saved choice the defaults apply. Credential expiry notices from the
daily sweep always go out: they keep people compliant.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..accounts.models import User
from ..errors import ValidationFailed
from ..extensions import db
from .models import NotificationPreference


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    prefixes: tuple[str, ...]
    email: bool = True


GROUPS = (
    Group("offers", "Offers and assignments", ("offer.", "counteroffer.", "assignment.")),
    Group("work", "Work on site: check-ins, reviews, expenses, no-shows", ("work.",)),
    Group("messages", "Messages and pool announcements", ("message.", "pool."), email=False),
    Group("credentials", "Credentials and compliance", ("credential.",)),
    Group("account", "Firm, team and integrations", ("firm.", "member.", "webhook.")),
)
OTHER = Group("other", "Everything else", ())
BY_KEY = {g.key: g for g in GROUPS}


@dataclass(frozen=True)
class Choice:
    in_app: bool
    email: bool
    digest: bool


def group_of(kind: str) -> Group:
    for group in GROUPS:
        if kind.startswith(group.prefixes):
            return group
    return OTHER


def choice_for(user: User, kind: str) -> Choice:
    group = group_of(kind)
    saved = db.session.scalar(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id, NotificationPreference.group == group.key))
    if saved is None:
        return Choice(True, group.email, False)
    return Choice(saved.in_app, saved.email, saved.digest and user.is_technician)


def choices(user: User) -> list[tuple[Group, Choice]]:
    saved = {p.group: p for p in db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id))}
    out = []
    for group in GROUPS:
        row = saved.get(group.key)
        out.append((group, Choice(row.in_app, row.email, row.digest) if row
                    else Choice(True, group.email, False)))
    return out


def save(user: User, form) -> None:
    """`form` has `<group>-in_app`, `<group>-email`, `<group>-digest` checkboxes."""
    wanted = {}
    for group in GROUPS:
        in_app = f"{group.key}-in_app" in form
        email = f"{group.key}-email" in form
        digest = f"{group.key}-digest" in form and user.is_technician
        if email and digest:
            raise ValidationFailed.field(f"{group.key}-digest",
                                         f"{group.label}: choose email now or the daily "
                                         "digest, not both.")
        wanted[group.key] = (in_app, email, digest)
    for group in GROUPS:
        in_app, email, digest = wanted[group.key]
        row = db.session.scalar(select(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.group == group.key))
        if row is None:
            row = NotificationPreference(user_id=user.id, group=group.key)
            db.session.add(row)
        row.in_app, row.email, row.digest = in_app, email, digest
    db.session.flush()
