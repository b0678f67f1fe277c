"""Stripe's events about money already sent become ledger transactions, once each."""
from __future__ import annotations

from marketplace.extensions import db
from marketplace.integrations import payments
from marketplace.pay import instant
from marketplace.pay.payables import Payable, PayableStatus
from marketplace.pay.payout_models import InstantPayout, InstantStatus, IntentStatus
from tests.pay.payout_helpers import approved, balanced, intent_of, tech_balances


def test_transfer_reversals_come_back_to_the_payable_once_each(pay_app, stripe_sandbox, ctx,
                                                              client):
    _, tech, job, _ = approved(stripe_sandbox, terms=0)
    intent = intent_of(job.id)
    amount, half = intent.amount_cents, intent.amount_cents // 2
    stripe_sandbox.take_events()
    gw = payments.gateway()
    gw.reverse_transfer(intent.transfer_id, amount_cents=half, key="rev-1")
    assert set(stripe_sandbox.deliver_events(client, times=2)) == {200}
    assert tech_balances(tech.id) == (half, amount - half, 0)
    assert intent_of(job.id).status == IntentStatus.SENT
    gw.reverse_transfer(intent.transfer_id, amount_cents=amount - half, key="rev-2")
    stripe_sandbox.deliver_events(client, order="reversed", times=2)
    assert tech_balances(tech.id) == (amount, 0, 0)
    assert intent_of(job.id).status == IntentStatus.REVERSED
    assert db.session.query(Payable).filter_by(assignment_id=job.id).one().status == \
        PayableStatus.REVERSED
    assert balanced()


def test_instant_payout_paid_and_failed_events_settle_it(pay_app, stripe_sandbox, ctx, client):
    _, tech, job, account = approved(stripe_sandbox, terms=0)
    paid = intent_of(job.id).amount_cents
    quote = instant.quote(tech.user, 1000)
    row = instant.request(tech.user, amount_cents=1000, fee_cents=quote.fee_cents,
                          key="first-payout-key-01")
    db.session.commit()
    second = instant.request(tech.user, amount_cents=1000, fee_cents=quote.fee_cents,
                             key="second-payout-key-2")
    db.session.commit()
    first_id, second_id = row.id, second.id
    payouts = {p["id"]: p for p in stripe_sandbox.objects("payout")}
    ids = [db.session.get(InstantPayout, i).payout_id for i in (first_id, second_id)]
    assert set(ids) == set(payouts)
    stripe_sandbox.settle_payout(ids[0])
    stripe_sandbox.settle_payout(ids[1], fail_code="account_closed")
    stripe_sandbox.deliver_events(client, times=2)
    db.session.expire_all()
    assert db.session.get(InstantPayout, first_id).status == InstantStatus.PAID
    assert db.session.get(InstantPayout, second_id).status == InstantStatus.FAILED
    out = 1000 + quote.fee_cents
    assert tech_balances(tech.id) == (0, paid - out, out)
    assert balanced()


def test_a_standard_payout_to_the_bank_is_counted_paid_once_and_a_failed_one_not_at_all(
        pay_app, stripe_sandbox, ctx, client):
    """Stripe's own schedule pays a connected account's balance out to the bank: the money
    the transfer put in transit is paid out when that payout reaches the bank, once."""
    _, tech, job, account = approved(stripe_sandbox, terms=0)
    sent = intent_of(job.id).amount_cents
    assert tech_balances(tech.id) == (0, sent, 0)
    stripe_sandbox.take_events()
    gw = payments.gateway()
    # As Stripe's daily schedule would: the first bounces, the second reaches the bank.
    bounced = gw.create_payout(account_id=account, amount_cents=sent, currency="USD",
                               method="standard", key="schedule-run-1")
    stripe_sandbox.settle_payout(bounced.id, fail_code="account_closed")
    assert set(stripe_sandbox.deliver_events(client, times=2)) == {200}
    assert tech_balances(tech.id) == (0, sent, 0)      # never paid: nothing to undo
    again = gw.create_payout(account_id=account, amount_cents=sent, currency="USD",
                             method="standard", key="schedule-run-2")
    stripe_sandbox.settle_payout(again.id)
    assert set(stripe_sandbox.deliver_events(client, times=2)) == {200}
    assert tech_balances(tech.id) == (0, 0, sent)
    assert gw.balance(account)["USD"][0] == 0
    assert balanced()
