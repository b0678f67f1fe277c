"""The daily sweep: reminders before expiry, expiry itself, suspension when nothing is left.

Set-based throughout: one INSERT ... SELECT for the reminders; one conditional
UPDATE ... RETURNING for expiry and one INSERT ... SELECT for the lapse notices
(all one statement on PostgreSQL, which also finds who may be left with nothing);
an indexed SELECT ... FOR UPDATE and a conditional UPDATE ... RETURNING for
suspension, with bulk audit rows. Id lists travel as one array parameter on
PostgreSQL. A second run (or a concurrent one on PostgreSQL, which queues on a
transaction lock and then finds the rows already changed) does nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import (
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql

from ..accounts.models import TechnicianProfile, TechnicianStatus
from ..core import audit, clock, outbox, signals
from ..core.actions import Action
from ..core.links import path_for
from ..core.progress import Progress, report
from ..core.sets import chunks, in_ids
from ..core.types import UTCDateTime
from ..extensions import db
from ..notifications.models import Notification
from .models import Credential, CredentialStatus, CredentialType
from .submissions import SUSPENDED_REASON
from .validity import REMINDER_DAYS, past_expiry, valid_on

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


def _queue_emails(notification_ids: list[int]) -> None:
    """One outbox row per notification, in the sweep's transaction (one multi-row INSERT)."""
    outbox.enqueue_many("email", [{"notification_id": i} for i in notification_ids],
                        subject="credential notice")


_NOTICE_COLUMNS = ["user_id", "kind", "title", "body", "link", "created_at"]


def _notices_insert(source, keyed: bool = False):
    """INSERT the notices `source` selects (its columns in _NOTICE_COLUMNS order, then
    the dedupe key when `keyed`)."""
    return (insert(Notification)
            .from_select(_NOTICE_COLUMNS + (["dedupe_key"] if keyed else []), source)
            .returning(Notification.__table__.c.id))


def _notices(source, keyed: bool = False) -> list[int]:
    return list(db.session.scalars(_notices_insert(source, keyed)))


def _user_of(technician_id):
    """The technician's user id as a correlated lookup: a primary-key probe per notice
    row, cheaper than hashing the whole technicians table for a few thousand rows."""
    return (select(TechnicianProfile.user_id)
            .where(TechnicianProfile.id == technician_id).scalar_subquery())


def _reminder_notices(on: date, stamp):
    """The keyed notice columns for the 30-, 7- and 1-day horizons together."""
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
    source = (select(_user_of(Credential.technician_id), literal("credential.expiring"),
                     title, body,
                     literal(path_for("verify.my_credentials")), literal(stamp, UTCDateTime), key)
              .select_from(Credential)
              .join(CredentialType, CredentialType.id == Credential.credential_type_id)
              .where(Credential.status == CredentialStatus.APPROVED,
                     Credential.expires_on.in_(list(horizons)), true(),
                     # Each reminder once: skip keys already sent. A probe of the
                     # unique index, cheaper than ON CONFLICT's speculative insert;
                     # sweeps never overlap (the transaction lock), and the unique
                     # index still refuses a duplicate outright.
                     ~exists().where(Notification.dedupe_key == key)))
    return source


def _expire_statement(on: date, stamp):
    """Approved credentials past their date become expired, returning (id, technician, type)."""
    table = Credential.__table__
    return (update(table)
            .where(table.c.status == CredentialStatus.APPROVED, past_expiry(on))
            .values(status=CredentialStatus.EXPIRED, updated_at=stamp)
            .returning(table.c.id, table.c.technician_id, table.c.credential_type_id))


def _lapse_notices(on: date, stamp, lapsed):
    """The notice columns, one row per credential in `lapsed` (id, technician_id,
    credential_type_id): the credentials table filtered to this run's, or the expiry CTE.

    No dedupe key: each credential is expired by exactly one conditional UPDATE, so
    its notice is written exactly once without a uniqueness check."""
    title = literal("Your ") + CredentialType.name + literal(" has expired")
    body = (literal("Your ") + CredentialType.name + literal(
        f" expired before {on.isoformat()}. You have been removed from talent pools and "
        "upcoming work that require it, and cannot accept such work until a renewal is "
        "approved. Upload the renewal to get back."))
    return (select(_user_of(lapsed.c.technician_id), literal("credential.expired"), title, body,
                   literal(path_for("verify.my_credentials")), literal(stamp, UTCDateTime))
            .select_from(lapsed)
            .join(CredentialType, CredentialType.id == lapsed.c.credential_type_id))


def _valid_credential(on: date, technician_id):
    """EXISTS an approved credential of `technician_id` still valid on `on`."""
    return exists().where(Credential.technician_id == technician_id, valid_on(on))


@dataclass
class _Written:
    reminders: list[int] = field(default_factory=list)
    expired: list[tuple[int, int, int]] = field(default_factory=list)
    lapse_notices: list[int] = field(default_factory=list)
    # Technicians who may have nothing valid left (suspension re-checks under lock).
    empty_handed: list[int] = field(default_factory=list)


def _remind_expire_and_notify(on: date, stamp) -> _Written:
    """Write the reminders, expire lapsed credentials with one notice each, and find
    who may be left empty-handed.

    On PostgreSQL a single statement does it all: data-modifying CTEs for the
    reminders, the expiry UPDATE and the notices reading its RETURNING, and the
    empty-handed check over the expired rows (the date test alone decides validity,
    so the statement's snapshot does not matter). Elsewhere, one statement per step.
    """
    written = _Written()
    if db.engine.dialect.name == "postgresql":
        expired = _expire_statement(on, stamp).cte("expired")
        lapse = _notices_insert(_lapse_notices(on, stamp, expired)).cte("lapse_notices")
        reminders = _notices_insert(_reminder_notices(on, stamp), keyed=True).cte("reminders")
        empty = (select(expired.c.technician_id).distinct()
                 .where(~_valid_credential(on, expired.c.technician_id)).subquery("empty"))

        def gathered(*columns):
            # One array per output, so the whole result is one row (ids by the
            # thousand come back as arrays, not as rows to iterate).
            value = columns[0] if len(columns) == 1 else postgresql.array(columns)
            return select(func.array_agg(value)).scalar_subquery()

        row = db.session.execute(select(
            gathered(expired.c.id, expired.c.technician_id, expired.c.credential_type_id),
            gathered(lapse.c.id), gathered(reminders.c.id),
            gathered(empty.c.technician_id))).one()
        triples, written.lapse_notices, written.reminders, empty_ids = (v or [] for v in row)
        written.expired = [tuple(t) for t in triples]
        written.empty_handed = sorted(empty_ids)
        return written
    written.reminders = _notices(_reminder_notices(on, stamp), keyed=True)
    written.expired = [tuple(r) for r in db.session.execute(_expire_statement(on, stamp))]
    table = Credential.__table__
    for part in chunks([cid for cid, _, _ in written.expired]):
        written.lapse_notices += _notices(
            _lapse_notices(on, stamp, table).where(in_ids(table.c.id, part)))
    written.empty_handed = sorted({tid for _, tid, _ in written.expired})
    return written


def _forget_loaded_status(tech_ids: list[int]) -> None:
    """Profiles already loaded in this session re-read their status after the bulk UPDATE."""
    for tid in tech_ids:
        profile = db.session.identity_map.get(db.session.identity_key(TechnicianProfile, tid))
        if profile is not None:
            db.session.expire(profile, ["status", "status_reason", "status_changed_at"])


def _suspend_empty_handed(on: date, tech_ids: list[int], stamp) -> int:
    """Suspend, set-based, the technicians among `tech_ids` left with no valid credential.

    One indexed SELECT ... FOR UPDATE finds them (with the reason they had, for the
    audit), one conditional UPDATE ... RETURNING suspends them (re-checking both
    conditions, so a concurrent approval or sweep wins cleanly), one bulk audit
    insert, and one technician_changed signal for the lot so find drops them from
    the match index in one go.
    """
    empty_handed = (TechnicianProfile.status == TechnicianStatus.ACTIVE,
                    ~_valid_credential(on, TechnicianProfile.id))
    reasons: dict[int, str | None] = {}
    for part in chunks(tech_ids):
        reasons.update(db.session.execute(
            select(TechnicianProfile.id, TechnicianProfile.status_reason)
            .where(in_ids(TechnicianProfile.id, part), *empty_handed)
            .with_for_update()).all())
    suspended: list[tuple[int, str | None]] = []
    for part in chunks(sorted(reasons)):
        suspended += [(tid, reasons[tid]) for tid in db.session.scalars(
            update(TechnicianProfile)
            .where(in_ids(TechnicianProfile.id, part), *empty_handed)
            .values(status=TechnicianStatus.SUSPENDED, status_reason=SUSPENDED_REASON,
                    status_changed_at=stamp)
            .returning(TechnicianProfile.id)
            .execution_options(synchronize_session=False))]
    if not suspended:
        return 0
    _forget_loaded_status([tid for tid, _ in suspended])
    audit.record_many(Action.TECHNICIAN_STATUS_CHANGED, TechnicianProfile.__tablename__, [
        {"subject_id": tid,
         "before": {"status": TechnicianStatus.ACTIVE.value, "reason": reason},
         "after": {"status": TechnicianStatus.SUSPENDED.value, "reason": SUSPENDED_REASON}}
        for tid, reason in suspended])
    signals.technician_changed.send(None, technician_ids=[tid for tid, _ in suspended])
    return len(suspended)


SWEEP_STEPS = 4


def run_sweep(on: date | None = None, *, progress: Progress | None = None) -> SweepResult:
    """Reminders, expiry and suspension for day `on`; the caller commits.

    `progress` hears of each of its four steps (core/progress.py)."""
    on = on or clock.today()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SWEEP_LOCK_ID})
    result = SweepResult(on=on)
    stamp = clock.now()
    report(progress, 0, SWEEP_STEPS, "reminders and expiry")
    written = _remind_expire_and_notify(on, stamp)
    result.reminders, result.expired = len(written.reminders), len(written.expired)
    report(progress, 1, SWEEP_STEPS, "offboarding")
    if written.expired:
        result.pairs = sorted({(tid, type_id) for _, tid, type_id in written.expired})
        signals.credentials_lapsed.send(None, pairs=result.pairs, on=on)
        report(progress, 2, SWEEP_STEPS, "suspensions")
        result.suspended = _suspend_empty_handed(on, written.empty_handed, stamp)
    report(progress, 3, SWEEP_STEPS, "emails")
    _queue_emails(written.reminders + written.lapse_notices)
    report(progress, 4, SWEEP_STEPS, "done")
    if result.changes:
        audit.record(Action.VERIFY_SWEEP, subject_type="system",
                     after={"on": on, "reminders": result.reminders, "expired": result.expired,
                            "suspended": result.suspended})
    return result


def left_without_valid_credential(technician_id: int, on: date) -> bool:
    """The sweep's suspension rule for one technician: they held approved credentials
    and none of them is valid on `on`. (Someone who never held one is not suspended
    for it: they simply cannot take work that asks for one.)"""
    held = exists().where(Credential.technician_id == technician_id,
                          Credential.status.in_([CredentialStatus.APPROVED,
                                                 CredentialStatus.EXPIRED]))
    return bool(db.session.scalar(select(held & ~_valid_credential(on, technician_id))))
