"""Payouts exactly once: each due payable becomes one Stripe Transfer to its technician.

Two transactions around one call, and a recovery that needs nothing else:

1. `open_intents`: for each due payable without one, a payout intent row is written in
   the same transaction as its ledger move (TECH_PAYABLE -> TECH_IN_TRANSIT). The
   intent's key (Stripe's idempotency key) is derived from that ledger transaction.
2. commit; `send` calls `create_transfer(key=intent.key, transfer_group="assignment:<id>")`.
3. `record_transfer` writes the transfer id (unique) in a second transaction (the run
   commits the records of a few transfers together, at most MARK_EVERY or MARK_WITHIN).

An intent left pending (a crash, a timeout, a lost answer) is claimed again when its
lease ends and sent with the same key: Stripe answers with the transfer it already
made. Once the key may be older than Stripe's 24-hour idempotency window, the
transfer is looked up by its transfer group first and only a group without it is
sent again, under a new key. So whatever crashes, there is one transfer per payable.

`run` is its own transaction boundary (like the outbox relay): it commits each step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..core import audit, clock
from ..core.actions import Action
from ..core.progress import Progress, report
from ..errors import PaymentError, PaymentServiceUnavailable
from ..extensions import db
from ..find.lifecycle import AssignmentStatus, transition
from ..find.models import Assignment
from ..integrations import payments
from . import ledger
from .connect import payout_accounts
from .payables import Payable, PayableStatus
from .payout_dates import is_due
from .payout_models import IntentStatus, PayoutIntent

LEASE = timedelta(minutes=5)          # the default; PAYOUT_LEASE_SECONDS overrides it
KEY_TRUSTED = timedelta(hours=23)     # Stripe keeps idempotency keys for 24 hours
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
BATCH = 200
# Sent transfers are recorded together: this many, or those recorded within this many
# seconds (a crash leaves at most these to the recovery, which finds them again).
MARK_EVERY = 50
MARK_WITHIN = 1.0


def transfer_group(assignment_id: int) -> str:
    return f"assignment:{assignment_id}"


def intent_key(ledger_txn_id: int, retries: int = 0) -> str:
    """Stripe's idempotency key: the ledger transaction, and which fresh key this is."""
    return f"payout-lt{ledger_txn_id}" + (f"-r{retries}" if retries else "")


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# 1. Intents, with their ledger move -------------------------------------------------------

def set_payable_status(assignment_id: int, to: PayableStatus, *sources: PayableStatus) -> bool:
    """Move the assignment's payable on, only from the states the caller expects."""
    return db.session.execute(update(Payable).where(
        Payable.assignment_id == assignment_id, Payable.status.in_(sources)).values(
        status=to, version=Payable.version + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount == 1


def write_intent(payable, destination: str) -> PayoutIntent | None:
    """The payable's intent and its ledger move, in the caller's transaction (None when
    another run took the payable first)."""
    if not set_payable_status(payable.assignment_id, PayableStatus.PAYING, PayableStatus.PENDING):
        return None
    tech, currency = payable.technician_id, payable.currency
    txn = ledger.move(f"payout:{payable.assignment_id}",
                      memo=f"Transfer to technician {tech} for assignment {payable.assignment_id}",
                      ref=transfer_group(payable.assignment_id),
                      source=ledger.account(ledger.Kind.TECH_PAYABLE, tech, currency),
                      target=ledger.account(ledger.Kind.TECH_IN_TRANSIT, tech, currency),
                      amount_cents=payable.amount_cents)
    now = clock.now()
    intent = PayoutIntent(key=intent_key(txn.id), assignment_id=payable.assignment_id,
                          technician_id=tech, firm_id=payable.firm_id, ledger_txn_id=txn.id,
                          amount_cents=payable.amount_cents, currency=currency,
                          destination=destination,
                          transfer_group=transfer_group(payable.assignment_id),
                          status=IntentStatus.PENDING, retries=0, attempts=0,
                          next_attempt_at=now, key_created_at=now, due_on=payable.due_on,
                          created_at=now, reversed_cents=0)
    db.session.add(intent)
    db.session.flush()
    return intent


def open_intents(limit: int = BATCH, *, assignment_id: int | None = None,
                 after_id: int = 0) -> tuple[int, int]:
    """Intents for due payables that have none (the caller commits): (opened, last id seen)."""
    stmt = (select(Payable, Assignment.timezone)
            .join(Assignment, Assignment.id == Payable.assignment_id)
            .where(Payable.id > after_id, Payable.status == PayableStatus.PENDING,
                   Payable.due_on <= clock.today() + timedelta(days=1))
            .order_by(Payable.id).limit(limit))
    if assignment_id is not None:
        stmt = stmt.where(Payable.assignment_id == assignment_id)
    if _is_postgres():
        stmt = stmt.with_for_update(of=Payable, skip_locked=True)
    rows = db.session.execute(stmt).all()
    if not rows:
        return 0, after_id
    due = [p for p, zone in rows if is_due(p.due_on, zone)]
    accounts = payout_accounts(sorted({p.technician_id for p in due}))
    opened = 0
    for payable in due:
        destination = accounts.get(payable.technician_id)
        if destination is None:
            continue   # not onboarded yet: the payable waits (the finance page lists it)
        if write_intent(payable, destination) is not None:
            opened += 1
    return opened, rows[-1][0].id


# 2. Sending -----------------------------------------------------------------------------

def _lease() -> timedelta:
    """How long a claimed intent is left to its run before another may send it."""
    seconds = current_app.config.get("PAYOUT_LEASE_SECONDS")
    return LEASE if seconds is None else timedelta(seconds=float(seconds))


def claim(limit: int = BATCH, *, assignment_id: int | None = None) -> list[int]:
    """Pending intents whose turn has come, leased to this run (committed)."""
    now = clock.now()
    stmt = (select(PayoutIntent.id).where(PayoutIntent.status == IntentStatus.PENDING,
                                          PayoutIntent.next_attempt_at <= now)
            .order_by(PayoutIntent.id).limit(limit))
    if assignment_id is not None:
        stmt = stmt.where(PayoutIntent.assignment_id == assignment_id)
    if _is_postgres():
        stmt = stmt.with_for_update(skip_locked=True)
    chosen = list(db.session.scalars(stmt))
    if chosen:
        db.session.execute(update(PayoutIntent).where(
            PayoutIntent.id.in_(chosen), PayoutIntent.status == IntentStatus.PENDING)
            .values(next_attempt_at=now + _lease()).execution_options(synchronize_session=False))
    db.session.commit()
    return chosen


def _existing_transfer(intent: PayoutIntent):
    """The transfer this intent already made, found by its transfer group."""
    for transfer in payments.gateway().list_transfers(transfer_group=intent.transfer_group):
        if (transfer.destination == intent.destination and not transfer.reversed
                and transfer.amount_cents == intent.amount_cents):
            return transfer
    return None


def _fresh_key(intent: PayoutIntent) -> None:
    """No transfer exists and the old key may be forgotten: send under a new key (committed)."""
    retries = intent.retries + 1
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent.id, PayoutIntent.key == intent.key,
        PayoutIntent.status == IntentStatus.PENDING).values(
        key=intent_key(intent.ledger_txn_id, retries), retries=retries,
        key_created_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    db.session.refresh(intent)
    if changed != 1:
        raise _Skip()


class _Skip(Exception):
    """Another run moved the intent on."""


def send(intent_id: int) -> str:
    """Make (or find) the intent's transfer and record it: 'sent', 'retry', 'failed', 'skip'.
    What it records waits for the caller's commit (the run commits every few)."""
    intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
    if intent is None or intent.status != IntentStatus.PENDING:
        return "skip"
    transfer = None
    try:
        if clock.now() - intent.key_created_at >= KEY_TRUSTED:
            transfer = _existing_transfer(intent)
            if transfer is None:
                _fresh_key(intent)
        if transfer is None:
            transfer = payments.gateway().create_transfer(
                amount_cents=intent.amount_cents, currency=intent.currency,
                destination=intent.destination, transfer_group=intent.transfer_group,
                key=intent.key, metadata={"payout_intent": intent.key,
                                          "assignment_id": str(intent.assignment_id),
                                          "ledger_transaction": str(intent.ledger_txn_id)})
    except _Skip:
        return "skip"
    except PaymentServiceUnavailable as exc:
        _retry_later(intent, str(exc))
        return "retry"
    except PaymentError as exc:
        _fail(intent, str(exc))
        return "failed"
    record_transfer(intent_id, transfer.id)
    return "sent"


def _retry_later(intent: PayoutIntent, error: str) -> None:
    delay = min(RETRY_BASE * (2 ** min(intent.attempts, 10)), RETRY_MAX)
    db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent.id, PayoutIntent.status == IntentStatus.PENDING).values(
        attempts=PayoutIntent.attempts + 1, last_error=error[:2000],
        next_attempt_at=clock.now() + delay).execution_options(synchronize_session=False))


def _fail(intent: PayoutIntent, error: str) -> None:
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent.id, PayoutIntent.status == IntentStatus.PENDING).values(
        status=IntentStatus.FAILED, attempts=PayoutIntent.attempts + 1,
        last_error=error[:2000]).execution_options(synchronize_session=False)).rowcount
    if changed:
        set_payable_status(intent.assignment_id, PayableStatus.FAILED, PayableStatus.PAYING)
        audit.record(Action.PAYOUT_FAILED, intent, firm_id=intent.firm_id,
                     after={"error": error[:500]})


def record_transfer(intent_id: int, transfer_id: str) -> bool:
    """The second transaction: the transfer id, the assignment paid, the firm told
    (the caller commits)."""
    now = clock.now()
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent_id, PayoutIntent.status == IntentStatus.PENDING).values(
        status=IntentStatus.SENT, transfer_id=transfer_id, sent_at=now, last_error=None,
        attempts=PayoutIntent.attempts + 1).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        return False
    intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
    set_payable_status(intent.assignment_id, PayableStatus.PAID, PayableStatus.PAYING)
    assignment = db.session.get(Assignment, intent.assignment_id)
    if assignment.status == AssignmentStatus.APPROVED:
        transition(assignment, AssignmentStatus.PAID, actor=None, action=Action.PAYOUT_SENT)
    else:
        audit.record(Action.PAYOUT_SENT, intent, firm_id=intent.firm_id)
    from . import announce
    announce.payout_sent(intent)
    return True


# 3. Admin retry of a failed intent ------------------------------------------------------------

def retry(intent_id: int, actor) -> PayoutIntent:
    """Send a failed intent again (under a new key; a transfer already made is found first)."""
    from ..errors import InvalidState
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent_id, PayoutIntent.status == IntentStatus.FAILED).values(
        status=IntentStatus.PENDING, next_attempt_at=clock.now(),
        key_created_at=clock.now() - KEY_TRUSTED).execution_options(
        synchronize_session=False)).rowcount
    intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
    if changed != 1:
        raise InvalidState("Only a failed payout can be retried.")
    set_payable_status(intent.assignment_id, PayableStatus.PAYING, PayableStatus.FAILED)
    audit.record(Action.PAYOUT_RETRIED, intent, actor=actor, firm_id=intent.firm_id)
    return intent


# The run ---------------------------------------------------------------------------------------

@dataclass
class RunResult:
    opened: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0


def run(*, assignment_id: int | None = None, progress: Progress | None = None) -> RunResult:
    """Open intents for what is due, a batch at a time, and send every pending intent whose
    turn has come (so the first transfers leave while later payables are still opened)."""
    result = RunResult()
    after, opening, done = 0, True, 0
    total = db.session.scalar(select(db.func.count(Payable.id)).where(
        Payable.status == PayableStatus.PENDING)) or 0
    while True:
        if opening:
            opened, after_next = open_intents(assignment_id=assignment_id, after_id=after)
            db.session.commit()
            result.opened += opened
            opening, after = after_next != after, after_next
        claimed = claim(assignment_id=assignment_id)
        if not claimed and not opening:
            break
        done += _send_all(claimed, result)
        report(progress, done, max(total, done), f"{result.sent} sent")
    if result.failed:
        current_app.logger.warning("payout run: %s transfers failed", result.failed)
    return result


def _send_all(claimed: list[int], result: RunResult) -> int:
    """Send the claimed intents, committing their records every few."""
    unmarked, since = 0, 0.0
    for intent_id in claimed:
        outcome = send(intent_id)
        if outcome != "skip":
            setattr(result, outcome, getattr(result, outcome) + 1)
            unmarked, since = unmarked + 1, since or time.monotonic()
        if unmarked >= MARK_EVERY or (unmarked and time.monotonic() - since >= MARK_WITHIN):
            db.session.commit()
            unmarked = 0
    db.session.commit()
    return len(claimed)
