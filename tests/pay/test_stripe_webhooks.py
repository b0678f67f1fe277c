"""Stripe webhooks in: verified by the SDK, deduplicated by event id, handled in one
transaction, order-proof; onboarding's payout status comes only from them."""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.pay import connect, ledger
from marketplace.pay.ledger import Kind
from marketplace.pay.rails_models import ConnectedAccount, StripeEvent, TopUp, TopUpStatus
from tests import factories


@pytest.fixture
def owner(ctx):
    user = factories.firm_user(Role.OWNER, email="owner@hooks.example")
    db.session.commit()
    return user


def _bank_top_up(client, auth, sandbox, payment_method="pm_usBankAccount_success") -> TopUp:
    auth.login("owner@hooks.example")
    assert client.post("/pay/funds", data={"amount": "400", "payment_method": payment_method}
                       ).status_code == 303
    topup = db.session.scalars(select(TopUp)).one()
    sandbox.settle(topup.payment_intent_id)
    return topup


def _state(firm_id: int):
    db.session.expire_all()
    topup = db.session.scalars(select(TopUp)).one()
    return (topup.status, ledger.balance_of(Kind.FIRM_AVAILABLE, firm_id),
            ledger.balance_of(Kind.FIRM_PENDING, firm_id))


def _post(client, payload: bytes, header: str):
    return client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": header,
                                                                  "Content-Type": "application/json"})


def test_an_event_delivered_three_times_has_one_effect(stripe_sandbox, owner, client, auth):
    _bank_top_up(client, auth, stripe_sandbox)
    statuses = stripe_sandbox.deliver_events(client, times=3)
    assert set(statuses) == {200}
    firm_id = owner.membership.firm_id
    assert _state(firm_id) == (TopUpStatus.SUCCEEDED, 40_000, 0)
    events = db.session.scalar(select(func.count()).select_from(StripeEvent))
    assert events == len(statuses) // 3
    keys = db.session.scalars(select(ledger.LedgerTransaction.key).where(
        ledger.LedgerTransaction.key.like("topup:%"))).all()
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["processing", "succeeded"]


def test_bad_signature_and_stale_timestamp_get_400_and_change_nothing(stripe_sandbox, owner,
                                                                    client, auth):
    _bank_top_up(client, auth, stripe_sandbox)
    events = stripe_sandbox.take_events()
    succeeded = next(e for e in events if e["type"] == "payment_intent.succeeded")
    payload, _ = stripe_sandbox.signed(succeeded)
    forged = stripe_sandbox.signed(succeeded, secret="whsec_someone_else")[1]
    assert _post(client, payload, forged).status_code == 400
    stale = stripe_sandbox.signed(succeeded, timestamp=int(time.time()) - 301)[1]
    assert _post(client, payload, stale).status_code == 400
    assert _post(client, payload, "").status_code == 400
    tampered = payload.replace(b'"amount": 40000', b'"amount": 90000')
    assert _post(client, tampered, stripe_sandbox.signed(succeeded)[1]).status_code == 400
    firm_id = owner.membership.firm_id
    assert _state(firm_id) == (TopUpStatus.PROCESSING, 0, 40_000)
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    assert _post(client, payload, stripe_sandbox.signed(succeeded)[1]).status_code == 200
    assert _state(firm_id) == (TopUpStatus.SUCCEEDED, 40_000, 0)


def test_reordered_events_end_in_the_right_state(stripe_sandbox, owner, client, auth):
    _bank_top_up(client, auth, stripe_sandbox)
    assert set(stripe_sandbox.deliver_events(client, order="reversed")) == {200}
    assert _state(owner.membership.firm_id) == (TopUpStatus.SUCCEEDED, 40_000, 0)


def test_ach_failure_arriving_before_processing_leaves_no_funds(stripe_sandbox, owner, client,
                                                               auth):
    _bank_top_up(client, auth, stripe_sandbox, "pm_usBankAccount_insufficientFunds")
    stripe_sandbox.deliver_events(client, order="reversed", times=2)
    status, available, pending = _state(owner.membership.firm_id)
    assert (status, available, pending) == (TopUpStatus.FAILED, 0, 0)
    assert ledger.balance_of(Kind.PLATFORM_CLEARING, None) == 0


def test_unknown_event_types_are_acknowledged_and_logged(stripe_sandbox, owner, client, auth,
                                                         caplog):
    _bank_top_up(client, auth, stripe_sandbox)
    created = next(e for e in stripe_sandbox.take_events()
                   if e["type"] == "payment_intent.created")
    created["type"] = "issuing_card.created"
    response = _post(client, *stripe_sandbox.signed(created))
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert db.session.scalar(select(StripeEvent.type)) == "issuing_card.created"


def test_refund_and_dispute_of_a_top_up_follow_the_firm_funds(stripe_sandbox, owner, client,
                                                              auth, gateway):
    _bank_top_up(client, auth, stripe_sandbox)
    stripe_sandbox.deliver_events(client)
    firm_id = owner.membership.firm_id
    topup = db.session.scalars(select(TopUp)).one()
    gateway.refund(topup.payment_intent_id, amount_cents=10_000, key="refund-1")
    dispute = stripe_sandbox.dispute(topup.payment_intent_id)
    stripe_sandbox.deliver_events(client, times=2)
    assert _state(firm_id)[1] == 40_000 - 10_000 - 40_000
    stripe_sandbox.close_dispute(dispute["id"], won=True)
    stripe_sandbox.deliver_events(client)
    assert _state(firm_id)[1] == 30_000


@pytest.fixture
def tech(ctx):
    user = factories.technician(email="tech@hooks.example")
    db.session.commit()
    return user


def _payable(technician_id: int) -> bool:
    db.session.expire_all()
    return connect.status_of(technician_id).payable


def test_onboarding_turns_payouts_on_only_from_a_verified_webhook(stripe_sandbox, tech, client,
                                                                  auth):
    auth.login("tech@hooks.example")
    page = client.get("/pay/payout-setup").get_data(as_text=True)
    assert "You can't be paid yet." in page and "Set up payouts with Stripe" in page
    started = client.post("/pay/payout-setup/start", data={"country": "US"})
    assert started.status_code == 303
    link = started.headers["Location"]
    assert link.startswith(stripe_sandbox.base_url + "/connect/onboarding/")
    # Stripe's hosted onboarding: opened, filled in, sent back to the app.
    session = requests.Session()
    assert "Set up payouts" in session.get(link).text
    back = session.post(link, data={"action": "submit", "routing": "110000000"},
                        allow_redirects=False)
    assert back.headers["Location"].endswith("/pay/payout-setup/return")
    assert client.get("/pay/payout-setup/return").status_code == 303
    technician_id = tech.technician.id
    assert not _payable(technician_id)                     # the return URL proves nothing
    [event] = stripe_sandbox.take_events()
    payload, _ = stripe_sandbox.signed(event)
    assert _post(client, payload, stripe_sandbox.signed(event, secret="whsec_x")[1]
                 ).status_code == 400
    assert not _payable(technician_id)
    assert _post(client, payload, stripe_sandbox.signed(event)[1]).status_code == 200
    assert _payable(technician_id)
    row = db.session.scalars(select(ConnectedAccount)).one()
    assert connect.payout_accounts([technician_id]) == {technician_id: row.stripe_account_id}
    assert connect.technician_for_account(row.stripe_account_id) == technician_id
    assert "Payouts are on." in client.get("/pay/payout-setup").get_data(as_text=True)
    from marketplace.notifications.models import Notification
    assert db.session.scalars(select(Notification.title).where(
        Notification.user_id == tech.id)).all() == ["Payouts are on"]


def test_account_updates_in_any_order_end_in_stripes_current_state(stripe_sandbox, tech,
                                                                   client, auth):
    auth.login("tech@hooks.example")
    link = client.post("/pay/payout-setup/start", data={"country": "US"}).headers["Location"]
    account_id = db.session.scalars(select(ConnectedAccount.stripe_account_id)).one()
    stripe_sandbox.complete_onboarding(account_id)
    stripe_sandbox.restrict_account(account_id, ["individual.verification.document"])
    assert set(stripe_sandbox.deliver_events(client, order="reversed")) == {200}
    assert not _payable(tech.technician.id)
    status = connect.status_of(tech.technician.id)
    assert status.requirements == ["an identity document"]
    assert "Stripe still needs an identity document" in client.get("/dashboard", follow_redirects=True).get_data(
        as_text=True)
    assert link


def test_a_used_link_goes_to_refresh_which_makes_a_new_link(stripe_sandbox, tech, client, auth):
    auth.login("tech@hooks.example")
    first = client.post("/pay/payout-setup/start", data={"country": "US"}).headers["Location"]
    session = requests.Session()
    session.get(first)
    again = session.get(first, allow_redirects=False)
    assert again.status_code == 303
    assert again.headers["Location"].endswith("/pay/payout-setup/refresh")
    fresh = client.get("/pay/payout-setup/refresh")
    assert fresh.status_code == 303 and fresh.headers["Location"] != first
    assert "Set up payouts" in session.get(fresh.headers["Location"]).text
    assert db.session.scalar(select(func.count()).select_from(ConnectedAccount)) == 1
    assert len(stripe_sandbox.objects("account")) == 1


def test_the_same_event_delivered_twice_at_once_has_one_effect(app, stripe_sandbox, owner,
                                                               client, auth):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("a race needs PostgreSQL's concurrent transactions")
    import threading
    _bank_top_up(client, auth, stripe_sandbox)
    events = stripe_sandbox.take_events()
    succeeded = next(e for e in events if e["type"] == "payment_intent.succeeded")
    barrier, statuses = threading.Barrier(4), []

    def deliver():
        payload, header = stripe_sandbox.signed(succeeded)
        barrier.wait()
        statuses.append(_post(app.test_client(), payload, header).json["outcome"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["duplicate"] * 3 + ["handled"]
    assert _state(owner.membership.firm_id) == (TopUpStatus.SUCCEEDED, 40_000, 0)
