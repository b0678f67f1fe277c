"""An instant payout Stripe never answered for a day is settled from what Stripe says."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.pay import instant
from marketplace.pay.payout_models import InstantPayout, InstantStatus
from tests.pay.payout_helpers import approved, balanced, tech_balances


def _unanswered(sandbox, fault: str):
    """A requested instant payout whose every answer from Stripe was lost."""
    _, tech, _job, _ = approved(sandbox, terms=0)
    quote = instant.quote(tech.user, 1000)
    sandbox.fail_next("POST /v1/payouts", kind=fault, times=3)
    row = instant.request(tech.user, amount_cents=1000, fee_cents=quote.fee_cents,
                          key="day-old-payout-key-1")
    db.session.commit()                      # sent after commit: no answer came back
    row_id = row.id
    db.session.expire_all()
    assert db.session.get(InstantPayout, row_id).status == InstantStatus.REQUESTED
    return tech, row_id, quote


def _instant_payouts(sandbox) -> list[dict]:
    return [p for p in sandbox.objects("payout") if p.get("method") == "instant"]


def test_a_payout_stripe_made_is_found_by_its_metadata_and_kept(pay_app, stripe_sandbox, ctx,
                                                                client):
    tech, row_id, quote = _unanswered(stripe_sandbox, "lost_response")
    [made] = _instant_payouts(stripe_sandbox)
    clock.advance(timedelta(hours=23, minutes=5))
    assert instant.sweep() == 1
    db.session.expire_all()
    row = db.session.get(InstantPayout, row_id)
    assert row.status == InstantStatus.PENDING and row.payout_id == made["id"]
    assert row.fee_cents == quote.fee_cents
    assert len(_instant_payouts(stripe_sandbox)) == 1          # not made a second time
    stripe_sandbox.settle_payout(made["id"])
    stripe_sandbox.deliver_events(client)
    db.session.expire_all()
    assert db.session.get(InstantPayout, row_id).status == InstantStatus.PAID
    assert tech_balances(tech.id)[2] == 1000 + quote.fee_cents
    assert balanced()


def test_a_payout_already_paid_at_stripe_is_recorded_paid(pay_app, stripe_sandbox, ctx):
    _tech, row_id, _quote = _unanswered(stripe_sandbox, "lost_response")
    [made] = _instant_payouts(stripe_sandbox)
    stripe_sandbox.settle_payout(made["id"])
    clock.advance(timedelta(hours=24))
    assert instant.send(row_id) == "paid"
    db.session.expire_all()
    row = db.session.get(InstantPayout, row_id)
    assert (row.status, row.payout_id) == (InstantStatus.PAID, made["id"])


def test_a_payout_stripe_never_made_fails_without_being_sent_again(pay_app, stripe_sandbox,
                                                                   ctx):
    tech, row_id, _quote = _unanswered(stripe_sandbox, "server_error")
    assert _instant_payouts(stripe_sandbox) == []
    asked = stripe_sandbox.requests.count("POST /v1/payouts")
    clock.advance(timedelta(hours=23, minutes=5))
    assert instant.send(row_id) == "failed"
    db.session.expire_all()
    row = db.session.get(InstantPayout, row_id)
    assert row.status == InstantStatus.FAILED and "never made" in row.failure
    assert stripe_sandbox.requests.count("POST /v1/payouts") == asked
    assert "GET /v1/payouts" in stripe_sandbox.requests
    assert _instant_payouts(stripe_sandbox) == []
    assert tech_balances(tech.id)[2] == 0


def test_a_paid_event_before_the_answer_was_recorded_settles_the_row_with_its_fee(
        pay_app, stripe_sandbox, ctx, client):
    """Stripe made the payout and it reached the bank, but our answer was lost: the
    payout.paid event finds the row by our key in the payout's metadata, counts Stripe's
    fee with it, and the answer recorded later (or the sweep) changes nothing."""
    tech, row_id, quote = _unanswered(stripe_sandbox, "lost_response")
    [made] = _instant_payouts(stripe_sandbox)
    paid_before = tech_balances(tech.id)
    stripe_sandbox.settle_payout(made["id"])
    assert set(stripe_sandbox.deliver_events(client, times=2)) == {200}
    db.session.expire_all()
    row = db.session.get(InstantPayout, row_id)
    assert (row.status, row.payout_id) == (InstantStatus.PAID, made["id"])
    out = 1000 + quote.fee_cents
    assert tech_balances(tech.id) == (paid_before[0], paid_before[1] - out,
                                      paid_before[2] + out)
    clock.advance(timedelta(minutes=2))
    assert instant.sweep() == 0                 # no longer 'requested': not sent again
    assert len(_instant_payouts(stripe_sandbox)) == 1
    db.session.expire_all()
    assert db.session.get(InstantPayout, row_id).status == InstantStatus.PAID
    assert balanced()
