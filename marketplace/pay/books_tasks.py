"""Celery tasks: approve silent submissions once their review time has passed (hourly); fold
the ledger's rolled-up deltas into their running balances (each minute); post Stripe's
fees (hourly)."""
from __future__ import annotations

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="pay.auto_approve")
def auto_approve_task() -> dict:
    from .approval import auto_approve_due
    return {"auto_approved": auto_approve_due()}


@celery.task(name="pay.ledger_roll_up")
def ledger_roll_up_task() -> dict:
    from .ledger import roll_up
    return {"rolled_up": sum(roll_up().values())}


@celery.task(name="pay.stripe_fees")
def stripe_fees_task() -> dict:
    from .stripe_fees import post_stripe_fees
    return {"stripe_fees_posted": post_stripe_fees()}


def init_app(app) -> None:
    add_beat(app, "pay-auto-approve", "pay.auto_approve", 3600.0)
    add_beat(app, "pay-ledger-roll-up", "pay.ledger_roll_up", 60.0)
    add_beat(app, "pay-stripe-fees", "pay.stripe_fees", 3600.0)
