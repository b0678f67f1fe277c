"""The daily sweep: reminders before expiry, expiry itself, suspension when nothing is left.

Set-based throughout: one INSERT ... SELECT for the reminders; one conditional
UPDATE ... RETURNING for expiry and one INSERT ... SELECT for the lapse notices
(a single statement on PostgreSQL); one conditional UPDATE ... RETURNING for
suspension, with bulk audit rows. Id lists travel as one array parameter on
PostgreSQL. A second run (or a concurrent one on PostgreSQL, which blocks on
the same rows and then finds them already changed) does nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import (String, case, cast, exists, literal, null, or_, select, text, true,
                        update)
from sqlalchemy.dialects import postgresql, sqlite

from .. import audit, clock, signals
from ..accounts.models import TechnicianProfile, TechnicianStatus
from ..extensions import db
from ..notifications.models import Notification
from ..sets import chunks, in_ids
from ..transactions import on_commit
from ..types import UTCDateTime
from .models import Credential, CredentialStatus, CredentialType
from .submissions import SUSPENDED_REASON

REMINDER_DAYS = (30, 7, 1)
# Concurrent sweeps queue on this transaction-scoped lock (PostgreSQL), so their
# reminder inserts cannot deadlock; the conditional UPDATE keeps them correct anyway.
SWEEP_LOCK_ID = 0x5E1F1C


@dataclass
class SweepResult:
    on: date
    reminders: int = 0
    expired: int = 0
    suspended: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.reminders + self.expired + self.suspended


def _insert(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification)


def _queue_emails(notification_ids: list[int]) -> None:
    """Emails go through the job queue after commit: one message for the whole run,
    which a worker fans out into batches (enqueueing is not the sweep's work)."""
    if not notification_ids:
        return
    from .tasks import email_notification_batches
    ids = list(notification_ids)
    on_commit(lambda: email_notification_batches.delay(ids))


def _notices_insert(source):
    """INSERT the notices `source` selects, skipping any already sent (dedupe key)."""
    return (_insert(db.engine.dialect.name)
            .from_select(["user_id", "kind", "title", "body", "link", "dedupe_key",
                          "created_at"], source)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Notification.__table__.c.id))


def _notices(source) -> list[int]:
    return list(db.session.scalars(_notices_insert(source)))


def _send_reminders(on: date) -> list[int]:
    """One INSERT ... SELECT for the 30-, 7- and 1-day horizons together."""
    horizons = {on + timedelta(days=days): days for days in REMINDER_DAYS}

    def by_horizon(text_of):
        return case({target: literal(text_of(target, days))
                     for target, days in horizons.items()}, value=Credential.expires_on)

    when = by_horizon(lambda _, days: "tomorrow" if days == 1 else f"in {days} days")
    key = (literal("cred-expiry-") + by_horizon(lambda _, days: f"{days}-")
           + cast(Credential.id, String))
    title = literal("Renew your ") + CredentialType.name + literal(": it expires ") + when
    body = (literal("Your ") + CredentialType.name + literal(" expires on ")
            + by_horizon(lambda target, _: target.isoformat())
            + literal(". Upload the renewal now so the work that needs it is not taken "
                      "away from you."))
    source = (select(TechnicianProfile.user_id, literal("credential.expiring"), title, body,
                     literal("/verify/credentials"), key, literal(clock.now(), UTCDateTime))
              .select_from(Credential)
              .join(CredentialType, CredentialType.id == Credential.credential_type_id)
              .join(TechnicianProfile, TechnicianProfile.id == Credential.technician_id)
              .where(Credential.status == CredentialStatus.APPROVED,
                     Credential.expires_on.in_(list(horizons)), true()))
    return _notices(source)


def _expire_statement(on: date, stamp):
    """Approved credentials past their date become expired, returning (id, technician, type)."""
    table = Credential.__table__
    return (update(table)
            .where(table.c.status == CredentialStatus.APPROVED, table.c.expires_on < on)
            .values(status=CredentialStatus.EXPIRED, updated_at=stamp)
            .returning(table.c.id, table.c.technician_id, table.c.credential_type_id))


def _lapse_notices(on: date, stamp, lapsed):
    """The notice columns, one row per credential in `lapsed` (id, technician_id,
    credential_type_id): the credentials table filtered to this run's, or the expiry CTE."""
    title = literal("Your ") + CredentialType.name + literal(" has expired")
    body = (literal("Your ") + CredentialType.name + literal(
        f" expired before {on.isoformat()}. You have been removed from talent pools and "
        "upcoming work that require it, and cannot accept such work until a renewal is "
        "approved. Upload the renewal to get back."))
    return (select(TechnicianProfile.user_id, literal("credential.expired"), title, body,
                   literal("/verify/credentials"),
                   literal("cred-lapsed-") + cast(lapsed.c.id, String),
                   literal(stamp, UTCDateTime))
            .select_from(lapsed)
            .join(CredentialType, CredentialType.id == lapsed.c.credential_type_id)
            .join(TechnicianProfile, TechnicianProfile.id == lapsed.c.technician_id))


def _expire_and_notify(on: date, stamp) -> tuple[list[tuple[int, int, int]], list[int]]:
    """Expire lapsed credentials and write one notice for each; returns the expired
    (id, technician, type) and the notice ids.

    On PostgreSQL one statement does both (the notices read the UPDATE's RETURNING
    through a CTE); elsewhere the notices select the expired ids in a second one.
    """
    if db.engine.dialect.name == "postgresql":
        expired = _expire_statement(on, stamp).cte("expired")
        notices = _notices_insert(_lapse_notices(on, stamp, expired)).cte("notices")
        rows = db.session.execute(
            select(expired.c.id, expired.c.technician_id, expired.c.credential_type_id,
                   literal(False)).union_all(
                select(notices.c.id, null(), null(), literal(True)))).all()
        return ([(r[0], r[1], r[2]) for r in rows if not r[3]],
                [r[0] for r in rows if r[3]])
    expired = [tuple(r) for r in db.session.execute(_expire_statement(on, stamp)).all()]
    table = Credential.__table__
    inserted: list[int] = []
    for part in chunks([cid for cid, _, _ in expired]):
        inserted += _notices(_lapse_notices(on, stamp, table).where(in_ids(table.c.id, part)))
    return expired, inserted


def _forget_loaded_status(tech_ids: list[int]) -> None:
    """Profiles already loaded in this session re-read their status after the bulk UPDATE."""
    for tid in tech_ids:
        profile = db.session.identity_map.get(db.session.identity_key(TechnicianProfile, tid))
        if profile is not None:
            db.session.expire(profile, ["status", "status_reason", "status_changed_at"])


def _suspend_empty_handed(on: date, tech_ids: list[int], stamp) -> int:
    """Suspend, set-based, the technicians among `tech_ids` left with no valid credential.

    One conditional UPDATE ... RETURNING per chunk (a concurrent sweep finds the
    rows already suspended), one bulk audit insert, and one technician_changed
    signal for the lot so find drops them from the match index in one go.
    """
    valid = exists().where(Credential.technician_id == TechnicianProfile.id,
                           Credential.status == CredentialStatus.APPROVED,
                           or_(Credential.expires_on.is_(None), Credential.expires_on >= on))
    suspended: list[tuple[int, str | None]] = []
    for part in chunks(tech_ids):
        previous = (select(TechnicianProfile.id, TechnicianProfile.status_reason)
                    .where(in_ids(TechnicianProfile.id, part)).subquery("previous"))
        suspended += db.session.execute(
            update(TechnicianProfile)
            .where(TechnicianProfile.id == previous.c.id,
                   TechnicianProfile.status == TechnicianStatus.ACTIVE, ~valid)
            .values(status=TechnicianStatus.SUSPENDED, status_reason=SUSPENDED_REASON,
                    status_changed_at=stamp)
            .returning(TechnicianProfile.id, previous.c.status_reason)
            .execution_options(synchronize_session=False)).all()
    if not suspended:
        return 0
    _forget_loaded_status([tid for tid, _ in suspended])
    audit.record_many("technician.status_changed", TechnicianProfile.__tablename__, [
        {"subject_id": tid,
         "before": {"status": TechnicianStatus.ACTIVE.value, "reason": reason},
         "after": {"status": TechnicianStatus.SUSPENDED.value, "reason": SUSPENDED_REASON}}
        for tid, reason in suspended])
    signals.technician_changed.send(None, technician_ids=[tid for tid, _ in suspended])
    return len(suspended)


def run_sweep(on: date | None = None) -> SweepResult:
    """Reminders, expiry and suspension for day `on`; the caller commits."""
    on = on or clock.today()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SWEEP_LOCK_ID})
    result = SweepResult(on=on)
    notices = _send_reminders(on)
    result.reminders = len(notices)
    stamp = clock.now()
    expired, lapse_notices = _expire_and_notify(on, stamp)
    notices += lapse_notices
    result.expired = len(expired)
    if expired:
        result.pairs = sorted({(tid, type_id) for _, tid, type_id in expired})
        signals.credentials_lapsed.send(None, pairs=result.pairs, on=on)
        result.suspended = _suspend_empty_handed(on, sorted({t for t, _ in result.pairs}),
                                                  stamp)
    _queue_emails(notices)
    if result.changes:
        audit.record("verify.sweep", subject_type="system",
                     after={"on": on, "reminders": result.reminders, "expired": result.expired,
                            "suspended": result.suspended})
    return result
