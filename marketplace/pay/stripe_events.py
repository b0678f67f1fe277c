"""Stripe webhooks in, at /webhooks/stripe.

The SDK verifies the signature (300 s tolerance: a replayed old delivery is refused);
the event's id goes into a unique row, so a redelivered event is acknowledged and
changes nothing; the handler for its type runs in the same transaction (the request's
boundary commits both, or neither and Stripe retries). Handlers compare the object's
state with ours rather than trusting arrival order. Types nobody handles are
acknowledged and logged. Handlers are registered by type under the
`stripe_event_handlers` hook: ``handler(obj, account)``, with the event's object and
the connected account it happened on (None for the platform's own).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Flask, current_app, jsonify, request
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.hooks import hooks
from ..extensions import csrf, db
from ..integrations import payments
from . import connect, funding
from .rails_models import StripeEvent

HOOK = "stripe_event_handlers"
HANDLERS = {
    "account.updated": connect.apply_account_update,
    "payment_intent.processing": funding.on_payment_intent,
    "payment_intent.succeeded": funding.on_payment_intent,
    "payment_intent.payment_failed": funding.on_payment_intent,
    "payment_intent.canceled": funding.on_payment_intent,
    "charge.refunded": funding.on_charge_refunded,
    "charge.dispute.created": funding.on_dispute,
    "charge.dispute.closed": funding.on_dispute,
}

bp = Blueprint("stripe_webhooks", __name__)


def _first_seen(event) -> bool:
    """Insert the event's row unless its id is there already (no error, no race)."""
    obj = event.data.object if event.data else None
    values = {"event_id": event.id, "type": event.type,
              "account": getattr(event, "account", None) if "account" in event else None,
              "object_id": obj["id"] if obj is not None and "id" in obj else None,
              "outcome": "handled" if hooks().mapping(HOOK).get(event.type)
              else "ignored",
              "created": datetime.fromtimestamp(int(event.created), timezone.utc),
              "received_at": datetime.now(timezone.utc)}
    dialect = db.session.get_bind().dialect.name
    upsert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    stmt = upsert(StripeEvent).values(**values).on_conflict_do_nothing(
        index_elements=["event_id"]).returning(StripeEvent.id)
    return db.session.execute(stmt).scalar() is not None


def receive(payload: bytes, signature: str | None) -> str:
    """Verify, deduplicate and handle one delivery; returns what became of it."""
    event = payments.gateway().construct_event(payload, signature)
    if not _first_seen(event):
        return "duplicate"
    handler = hooks().mapping(HOOK).get(event.type)
    if handler is None:
        current_app.logger.info("stripe event %s of type %s acknowledged, not handled",
                                event.id, event.type)
        return "ignored"
    account = event["account"] if "account" in event else None
    handler(event.data.object, account)
    return "handled"


@bp.post("/webhooks/stripe")
@csrf.exempt
def webhook():
    outcome = receive(request.get_data(), request.headers.get("Stripe-Signature"))
    return jsonify(received=True, outcome=outcome)


def init_app(app: Flask) -> None:
    for event_type, handler in HANDLERS.items():
        hooks(app).put(HOOK, event_type, handler)
    app.register_blueprint(bp)
