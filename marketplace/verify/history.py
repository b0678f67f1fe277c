"""A credential's history for its reviewer: what happened, by whom, as sentences."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..accounts.models import User
from ..core.actions import Action
from ..core.audit import list_for_subject
from ..extensions import db
from .models import Credential

_DONE = {Action.CREDENTIAL_SUBMITTED: "submitted it",
         Action.CREDENTIAL_RESUBMITTED: "sent it back with more information",
         Action.CREDENTIAL_APPROVED: "approved it",
         Action.CREDENTIAL_REJECTED: "rejected it",
         Action.CREDENTIAL_NEEDS_INFO: "asked for more information"}


@dataclass
class Event:
    at: datetime
    sentence: str


def credential_history(cred: Credential) -> list[Event]:
    entries = list_for_subject("credentials", cred.id)
    ids = {e.actor_id for e in entries if e.actor_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) \
        if ids else {}
    events = []
    for e in entries:
        who = names.get(e.actor_id, "The platform")
        done = _DONE.get(e.action) or e.action.split(".", 1)[-1].replace("_", " ")
        reason = (e.after or {}).get("reason")
        events.append(Event(e.occurred_at, f"{who} {done}" + (f": “{reason}”" if reason else "")))
    return events
