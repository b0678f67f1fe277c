"""Instant payouts at cost: the fee shown is exactly the sandbox's fee, and nothing more."""
from __future__ import annotations

import pytest

from marketplace.errors import InvalidState
from marketplace.extensions import db
from marketplace.integrations import payments
from marketplace.core.money import format_money
from marketplace.pay import instant, payout_events
from marketplace.pay.payout_models import InstantPayout, InstantStatus
from tests.pay.payout_helpers import approved, balanced, intent_of, tech_balances


def _stripe_payout(sandbox, account: str) -> dict:
    [payout] = [p for p in sandbox.objects("payout") if p.get("method") == "instant"]
    return payout


def test_an_instant_payout_charges_exactly_the_sandbox_fee(pay_app, stripe_sandbox, ctx, client):
    owner, tech, job, account = approved(stripe_sandbox, terms=0)
    paid = intent_of(job.id).amount_cents
    available_before = payments.gateway().balance(account)["USD"][0]
    assert available_before == paid

    quote = instant.quote(tech.user)
    assert quote.amount_cents + quote.fee_cents <= available_before
    gw = payments.gateway()
    more = quote.amount_cents + 1                      # as much as fits, fee beside it
    assert more + gw.instant_payout_fee_cents(more, "USD") > available_before
    row = instant.request(tech.user, amount_cents=quote.amount_cents, fee_cents=quote.fee_cents,
                          key="k" * 20)
    db.session.commit()                              # sent right after the commit
    db.session.refresh(row)
    assert row.status == InstantStatus.PENDING and row.payout_id
    payout = _stripe_payout(stripe_sandbox, account)
    balance_tx = [t for t in stripe_sandbox.objects("balance_transaction")
                  if t.get("source") == payout["id"]]
    assert [(t["amount"], t["fee"]) for t in balance_tx] == [(-quote.amount_cents,
                                                              quote.fee_cents)]
    assert row.fee_cents == quote.fee_cents                  # what Stripe took, no markup
    after = payments.gateway().balance(account)["USD"][0]
    assert available_before - after == quote.amount_cents + quote.fee_cents

    # Stripe says it arrived: the ledger pays out the payout and its fee, once.
    stripe_sandbox.settle_payout(payout["id"])
    event = {"id": payout["id"], "amount": payout["amount"], "currency": "usd"}
    for _ in range(2):
        payout_events.payout_paid(event, account)
    db.session.commit()
    assert db.session.get(InstantPayout, row.id).status == InstantStatus.PAID
    assert tech_balances(tech.id) == (0, paid - quote.amount_cents - quote.fee_cents,
                                      quote.amount_cents + quote.fee_cents)
    assert balanced()


def test_a_stale_fee_is_refused_and_more_than_the_balance_is_refused(pay_app, stripe_sandbox,
                                                                    ctx):
    owner, tech, job, account = approved(stripe_sandbox, terms=0)
    quote = instant.quote(tech.user)
    with pytest.raises(InvalidState, match="fee"):
        instant.request(tech.user, amount_cents=quote.amount_cents,
                        fee_cents=quote.fee_cents - 1, key="stale-fee-key-0001")
    db.session.rollback()
    with pytest.raises(InvalidState, match="available balance"):
        instant.quote(tech.user, quote.amount_cents + quote.fee_cents)
    assert stripe_sandbox.objects("payout") == []
    assert db.session.query(InstantPayout).count() == 0


def test_the_instant_page_shows_the_fee_before_confirming(pay_app, stripe_sandbox, ctx, client):
    from tests import factories
    owner, tech, job, account = approved(stripe_sandbox, terms=0)
    quote = instant.quote(tech.user)
    client.post("/login", data={"email": tech.user.email, "password": factories.PASSWORD})
    page = client.get("/pay/instant").get_data(as_text=True)
    fee = format_money(quote.fee_cents)
    assert fee in page and f"({quote.fee_cents} cents" in page
    assert stripe_sandbox.objects("payout") == []          # nothing before confirming
