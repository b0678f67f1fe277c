"""Demo payment rails: firms funded by card (one bank top-up still processing), two on net
terms, most technicians onboarded to Stripe Connect. Through the services and the bundled
sandbox; its events are handed to the webhook handler in process. Runs before work is
routed, so routing finds the firms' funds."""
from __future__ import annotations

import random

from ..accounts.models import Role
from ..extensions import db
from ..integrations import payments
from ..pay import connect, funding, stripe_events

CARD_TOP_UP_CENTS = 9_000_000
BANK_TOP_UP_CENTS = 1_500_000
TERMS = {"lakeshore": (30, 2_500_000), "cascade": (15, 1_000_000)}


def _owner(firm):
    return next(m.user for m in firm.memberships if m.role == Role.OWNER)


def _hand_over_events(app) -> int:
    """Deliver what the sandbox announced to the webhook handler, signed as over HTTP."""
    sandbox = payments.embedded_sandbox(app).sandbox
    events = sandbox.take_events()
    for event in events:
        stripe_events.receive(*sandbox.signed(event))
    return len(events)


def seed(rng: random.Random, world: dict) -> dict:
    from flask import current_app
    app = current_app._get_current_object()
    if payments.sandbox_dashboard(app) is None:
        return {}                       # real Stripe: no demo money
    payments.embedded_sandbox(app).sandbox.reset()
    admin, topups = world["admin"], []
    for firm in world["firms"]:
        db.session.flush()
        owner = _owner(firm)
        if firm.slug in TERMS:
            days, limit = TERMS[firm.slug]
            funding.grant_terms(admin, firm.id, days=days, credit_limit_cents=limit)
        topups.append(funding.start_topup(owner, firm.id, amount_cents=CARD_TOP_UP_CENTS,
                                          method="card", payment_method="pm_card_visa"))
        if firm.slug == "northstar":
            topups.append(funding.start_topup(
                owner, firm.id, amount_cents=BANK_TOP_UP_CENTS, method="us_bank_account",
                payment_method="pm_usBankAccount_success"))
    for topup in topups:
        funding.pay_topup(topup)
    onboarded = 0
    for number, technician in enumerate(world["technicians"], start=1):
        if number > 60 or number % 10 == 0:
            continue    # tech010, tech020, ... and tech061 on still have to set up payouts
        db.session.flush()
        row = connect.ensure_account(technician.user, "US")
        payments.embedded_sandbox(app).sandbox.complete_onboarding(row.stripe_account_id)
        onboarded += 1
    _hand_over_events(app)
    return {"topups": topups, "onboarded": onboarded}
