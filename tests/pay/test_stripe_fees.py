"""Stripe's fees reach the ledger as the sandbox reports them on its balance transactions:
each once, from clearing to the platform's Stripe fees, the books still whole."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.integrations.stripe_sandbox import pricing
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind
from marketplace.pay.rails_models import TopUp
from marketplace.pay.stripe_fees import post_stripe_fees
from tests import factories


@pytest.fixture
def owner(ctx):
    user = factories.firm_user(Role.OWNER, email="owner@fees.example")
    db.session.commit()
    return user


def _card_top_up(client, auth, amount: str) -> None:
    auth.login("owner@fees.example")
    response = client.post("/pay/funds", data={"amount": amount,
                                               "payment_method": "pm_card_visa"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def _fee_transactions() -> int:
    return db.session.scalar(select(func.count()).select_from(ledger.LedgerTransaction).where(
        ledger.LedgerTransaction.key.like("stripe_fee:%")))


def test_card_and_dispute_fees_are_posted_once(stripe_sandbox, owner, client, auth):
    _card_top_up(client, auth, "500.00")
    _card_top_up(client, auth, "120.00")
    assert post_stripe_fees() == 2
    db.session.commit()
    card_fees = pricing.card_fee(50_000) + pricing.card_fee(12_000)
    assert ledger.balance_of(Kind.PLATFORM_STRIPE_FEES, None) == card_fees
    assert post_stripe_fees() == 0 and _fee_transactions() == 2        # a rerun adds nothing

    pi = db.session.scalars(select(TopUp.payment_intent_id).order_by(TopUp.id)).first()
    stripe_sandbox.dispute(pi)
    assert post_stripe_fees() == 1
    db.session.commit()
    assert ledger.balance_of(Kind.PLATFORM_STRIPE_FEES, None) == card_fees + pricing.DISPUTE_FEE
    firm = owner.membership.firm_id
    assert ledger.balance_of(Kind.FIRM_AVAILABLE, firm) == 62_000    # the firm pays no fee
    assert ledger.verify() == [] and ledger.trial_balance() == {"USD": 0}


def test_the_stripe_fees_command_reports_what_it_posted(app, stripe_sandbox, owner, client,
                                                        auth):
    _card_top_up(client, auth, "80.00")
    result = app.test_cli_runner().invoke(args=["pay", "stripe-fees"])
    assert result.exit_code == 0, result.output
    assert "Stripe fees posted: 1" in result.output
    db.session.expire_all()
    assert ledger.balance_of(Kind.PLATFORM_STRIPE_FEES, None) == pricing.card_fee(8_000)
