"""Stripe events about money already sent, as ledger transactions.

The webhook endpoint (pay/stripe_events.py) verifies and dedupes each event, then
calls the handler registered here for its type, inside its transaction:
``handler(obj, account)`` with the event's object and the connected account it
happened on (None for the platform's own). Each posts under a key derived from the
Stripe object, so a redelivered event changes nothing.

- ``payout.paid``: a connected account's payout reached the bank: TECH_IN_TRANSIT ->
  TECH_PAID_OUT (standard and instant payouts alike).
- ``payout.failed``: it bounced: the money is back in the account (undone if it was paid).
- ``transfer.reversed``: money pulled back from the account: TECH_IN_TRANSIT -> TECH_PAYABLE.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from sqlalchemy import select, update

from ..core import audit
from ..core.actions import Action
from ..core.hooks import hooks
from ..core.links import path_for
from ..core.money import format_money
from ..extensions import db
from ..notifications.services import notify
from . import instant, ledger
from .payables import PayableStatus
from .payout_models import IntentStatus, PayoutIntent
from .connect import technician_for_account
from .transfers import set_payable_status

HOOK = "stripe_event_handlers"
Handler = Callable[[Any, "str | None"], None]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    try:
        return obj[name]
    except (KeyError, TypeError):
        return getattr(obj, name, default)


def _technician_of(account: str | None) -> int | None:
    if not account:
        return None
    return technician_for_account(account)


def _instant_key(obj: Any) -> str | None:
    """Our instant payout row's key, as we put it in the payout's metadata."""
    found = _get(_get(obj, "metadata") or {}, instant.METADATA)
    return str(found) if found else None


def _accounts(tech_id: int, currency: str):
    return (ledger.account(ledger.Kind.TECH_IN_TRANSIT, tech_id, currency),
            ledger.account(ledger.Kind.TECH_PAID_OUT, tech_id, currency))


def payout_paid(obj: Any, account: str | None) -> None:
    payout_id, amount = _get(obj, "id"), int(_get(obj, "amount"))
    currency = str(_get(obj, "currency", "usd")).upper()
    fast = instant.settle(payout_id, paid=True, key=_instant_key(obj))
    memo = f"Payout {payout_id} reached the bank"
    if fast is not None:   # Stripe's instant fee left the balance beside it
        amount += fast.fee_cents
        memo += f" (instant, Stripe fee {fast.fee_cents} cents)"
    tech_id = _technician_of(account)
    if tech_id is None or amount <= 0:
        return
    in_transit, paid_out = _accounts(tech_id, currency)
    ledger.move(f"stripe_payout:{payout_id}:paid", memo=memo,
                ref=f"payout:{payout_id}", source=in_transit, target=paid_out,
                amount_cents=amount)


def payout_failed(obj: Any, account: str | None) -> None:
    payout_id, amount = _get(obj, "id"), int(_get(obj, "amount"))
    currency = str(_get(obj, "currency", "usd")).upper()
    instant.settle(payout_id, paid=False, key=_instant_key(obj),
                   failure=_get(obj, "failure_message") or "The bank refused the payout.")
    tech_id = _technician_of(account)
    was_paid = db.session.scalar(select(ledger.LedgerTransaction.id).where(
        ledger.LedgerTransaction.key == f"stripe_payout:{payout_id}:paid"))
    if tech_id is None or was_paid is None or amount <= 0:
        return   # never counted as paid: the money simply stayed in the account
    in_transit, paid_out = _accounts(tech_id, currency)
    ledger.move(f"stripe_payout:{payout_id}:failed", memo=f"Payout {payout_id} failed",
                ref=f"payout:{payout_id}", source=paid_out, target=in_transit,
                amount_cents=amount)


def transfer_reversed(obj: Any, account: str | None = None, *, actor: Any = None,
                      reason: str | None = None) -> None:
    """Money pulled back from a transfer, whoever started it (Stripe's event, or an admin's
    reversal once Stripe answered): `amount_reversed` is the running total, so only what
    is new is posted, and a second report of the same reversal posts nothing."""
    transfer_id, total = _get(obj, "id"), int(_get(obj, "amount_reversed", 0) or 0)
    intent = db.session.scalar(select(PayoutIntent).where(PayoutIntent.transfer_id == transfer_id)
                               .with_for_update())
    if intent is None or total <= intent.reversed_cents:
        return
    delta = total - intent.reversed_cents
    tech = intent.technician_id
    ledger.move(f"transfer:{transfer_id}:reversed:{total}",
                memo=f"Transfer {transfer_id} reversed", ref=intent.transfer_group,
                source=ledger.account(ledger.Kind.TECH_IN_TRANSIT, tech, intent.currency),
                target=ledger.account(ledger.Kind.TECH_PAYABLE, tech, intent.currency),
                amount_cents=delta)
    full = total >= intent.amount_cents
    db.session.execute(update(PayoutIntent).where(PayoutIntent.id == intent.id).values(
        reversed_cents=total, status=IntentStatus.REVERSED if full else intent.status)
        .execution_options(synchronize_session=False))
    if full:
        set_payable_status(intent.assignment_id, PayableStatus.REVERSED, PayableStatus.PAID)
    audit.record(Action.PAYOUT_REVERSED, intent, actor=actor, firm_id=intent.firm_id,
                 after={"reversed_cents": total, **({"reason": reason} if reason else {})})
    _tell_reversed(intent, delta, total, reason)


def _tell_reversed(intent: PayoutIntent, delta: int, total: int, reason: str | None) -> None:
    amount = format_money(delta, intent.currency)
    body = (f"{amount} paid for \u201c{intent.assignment.title}\u201d was taken back from "
            "your payout account.")
    if reason:
        body += f" Reason: {reason}"
    notify(intent.technician.user, "payout.reversed", f"Payout reversed: {amount}", body,
           link=path_for("payouts.earnings"), dedupe_key=f"payout-reversed:{intent.id}:{total}")


HANDLERS: dict[str, Handler] = {
    "payout.paid": payout_paid,
    "payout.failed": payout_failed,
    "transfer.reversed": transfer_reversed,
}


def handler_for(event_type: str) -> Handler | None:
    """What the webhook endpoint calls for an event type (None: not a payouts event)."""
    return hooks().mapping(HOOK).get(event_type)


def init_app(app: Flask) -> None:
    for event_type, handler in HANDLERS.items():
        hooks(app).put(HOOK, event_type, handler)
