"""Telling people about payouts and documents: in-app notices, email and webhooks out,
all through the outbox (written in the caller's transaction)."""
from __future__ import annotations

from ..core.links import path_for
from ..core.money import format_money
from ..notifications import webhooks
from ..notifications.services import notify


def payout_sent(intent) -> None:
    """The transfer is made: the technician hears it, the firm's integration gets payout.paid."""
    amount = format_money(intent.amount_cents, intent.currency)
    notify(intent.technician.user, "payout.sent", f"Paid: {amount}",
           f"{amount} for \u201c{intent.assignment.title}\u201d is on its way to your bank "
           "account.", link=path_for("payouts.earnings"), dedupe_key=f"payout:{intent.id}")
    webhooks.emit(intent.firm_id, "payout.paid", {
        "assignment_id": intent.assignment_id, "technician_id": intent.technician_id,
        "amount_cents": intent.amount_cents, "currency": intent.currency,
        "transfer_id": intent.transfer_id,
        "paid_at": intent.sent_at.isoformat() if intent.sent_at else None})


def invoice_created(document) -> None:
    webhooks.emit(document.firm_id, "invoice.created", {
        "invoice_id": document.id, "number": document.display_number,
        "assignment_id": document.assignment_id, "total_cents": document.total_cents,
        "currency": document.currency, "issued_at": document.issued_at.isoformat()})
