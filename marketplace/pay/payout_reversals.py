"""An admin pulls a sent payout back (work paid by mistake): a Stripe Transfer Reversal.

Like the transfer itself, two transactions around one call:

1. `request_reversal` claims the intent by compare-and-set (sent -> reversing), audits
   who asked and why, and starts the call after commit. Two admins racing: one claim
   wins, the other is told it is already being reversed.
2. `send_reversal` asks Stripe to reverse what is left on the transfer under a key
   derived from the intent (the same key for every try of one claim),
   then posts what Stripe reports through the one rule that also handles Stripe's
   `transfer.reversed` event (payout_events.transfer_reversed): the ledger moves once,
   whichever of the two reports comes first, and the technician is told.

An intent left 'reversing' (a crash, no answer) is picked up by the payouts sweep when
its lease ends: the transfer is read first, and only a transfer with money left on it
is reversed again, with the same key. When Stripe refuses (say the connected account
has spent the money), the intent goes back to 'sent' with the refusal shown on the desk.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..accounts.models import TechnicianProfile
from ..core import audit, clock
from ..core.actions import Action
from ..core.transactions import on_commit
from ..errors import InvalidState, NotFound, PaymentError, PaymentServiceUnavailable, ValidationFailed
from ..extensions import celery, db
from ..integrations import payments
from .payout_events import transfer_reversed
from .payout_models import IntentStatus, PayoutIntent
from .transfers import _lease

REASON_MAX = 500


def reversal_key(intent: PayoutIntent) -> str:
    """Stripe's idempotency key: the intent's ledger transaction and which claim this is
    (each claim counts one attempt; retries of a claim reuse its key, and a claim after
    Stripe's refusal gets a new one, since Stripe replays a refusal for its key)."""
    return f"reversal-lt{intent.ledger_txn_id}-a{intent.attempts}"


def request_reversal(intent_id: int, actor, reason: str) -> PayoutIntent:
    """Claim a sent payout for reversal (the caller commits; Stripe is called after)."""
    reason = " ".join((reason or "").split())[:REASON_MAX]
    if len(reason) < 3:
        raise ValidationFailed.field("reason", "Say why the payout is reversed: the "
                                               "technician and the audit log see it.")
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent_id, PayoutIntent.status == IntentStatus.SENT,
        PayoutIntent.transfer_id.is_not(None),
        PayoutIntent.reversed_cents < PayoutIntent.amount_cents).values(
        status=IntentStatus.REVERSING, last_error=None, attempts=PayoutIntent.attempts + 1,
        next_attempt_at=clock.now() + _lease()).execution_options(
        synchronize_session=False)).rowcount
    intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
    if changed != 1:
        if intent is not None and intent.status in (IntentStatus.REVERSING,
                                                    IntentStatus.REVERSED):
            raise InvalidState("This payout is already reversed or being reversed.")
        raise InvalidState("Only a transferred payout can be reversed.")
    audit.record(Action.PAYOUT_REVERSAL_REQUESTED, intent, actor=actor, firm_id=intent.firm_id,
                 after={"reason": reason, "transfer_id": intent.transfer_id,
                        "amount_cents": intent.amount_cents - intent.reversed_cents})
    actor_id = getattr(actor, "id", None)
    on_commit(lambda: _enqueue(intent_id, actor_id, reason))
    return intent


def _enqueue(intent_id: int, actor_id: int | None, reason: str) -> None:
    app = current_app._get_current_object()
    if app.config.get("PAYOUTS_AFTER_COMMIT", True):
        with app.app_context():
            reversal_task.delay(intent_id, actor_id, reason)


@celery.task(name="pay.payouts.reverse")
def reversal_task(intent_id: int, actor_id: int | None = None, reason: str | None = None) -> str:
    return send_reversal(intent_id, actor_id=actor_id, reason=reason)


def send_reversal(intent_id: int, *, actor_id: int | None = None,
                  reason: str | None = None) -> str:
    """Reverse the claimed intent's transfer and post it (commits):
    'reversed', 'retry', 'failed' or 'skip'."""
    intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
    if intent is None or intent.status != IntentStatus.REVERSING:
        db.session.rollback()
        return "skip"
    transfer_id, key, currency = intent.transfer_id, reversal_key(intent), intent.currency
    metadata = {"payout_intent": intent.key, "assignment_id": str(intent.assignment_id)}
    db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent_id, PayoutIntent.status == IntentStatus.REVERSING).values(
        next_attempt_at=clock.now() + _lease())
        .execution_options(synchronize_session=False))
    db.session.commit()
    gw = payments.gateway()
    try:
        transfer = gw.retrieve_transfer(transfer_id)
        if transfer.amount_reversed_cents < transfer.amount_cents:
            transfer = gw.reverse_transfer(transfer_id, key=key, currency=currency,
                                           metadata=metadata)
    except PaymentServiceUnavailable:
        db.session.rollback()
        return "retry"
    except PaymentError as exc:
        _refused(intent_id, actor_id, str(exc))
        return "failed"
    transfer_reversed({"id": transfer.id, "amount_reversed": transfer.amount_reversed_cents},
                      actor=actor_id, reason=reason)
    db.session.commit()
    return "reversed"


def _refused(intent_id: int, actor_id: int | None, error: str) -> None:
    """Stripe said no: the payout stays sent, the desk shows why (commits)."""
    changed = db.session.execute(update(PayoutIntent).where(
        PayoutIntent.id == intent_id, PayoutIntent.status == IntentStatus.REVERSING).values(
        status=IntentStatus.SENT, last_error=error[:2000]).execution_options(
        synchronize_session=False)).rowcount
    if changed:
        intent = db.session.get(PayoutIntent, intent_id, populate_existing=True)
        audit.record(Action.PAYOUT_REVERSAL_FAILED, intent, actor=actor_id,
                     firm_id=intent.firm_id, after={"error": error[:500]})
    db.session.commit()


def sweep() -> int:
    """Finish reversals whose call was lost (their lease ended): how many were posted."""
    ids = list(db.session.scalars(select(PayoutIntent.id).where(
        PayoutIntent.status == IntentStatus.REVERSING,
        PayoutIntent.next_attempt_at <= clock.now()).order_by(PayoutIntent.id).limit(200)))
    db.session.rollback()
    return sum(send_reversal(i) == "reversed" for i in ids)


def get_intent(intent_id: int) -> PayoutIntent:
    intent = db.session.get(PayoutIntent, intent_id)
    if intent is None:
        raise NotFound()
    return intent


def reversible(limit: int = 50) -> list[PayoutIntent]:
    """Sent payouts an admin may reverse, newest first, and those being reversed."""
    return list(db.session.scalars(select(PayoutIntent).where(
        PayoutIntent.status.in_((IntentStatus.SENT, IntentStatus.REVERSING)))
        .options(selectinload(PayoutIntent.assignment),
                 selectinload(PayoutIntent.technician).selectinload(TechnicianProfile.user))
        .order_by(PayoutIntent.sent_at.desc(), PayoutIntent.id.desc()).limit(limit)))
