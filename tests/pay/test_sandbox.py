"""The sandbox speaks Stripe's wire format: form-encoded nested keys, Idempotency-Key
replay, the Stripe-Account header, error JSON and status codes, cursor pagination,
expand[], signed events, and its own hosted onboarding page."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests
import stripe

from marketplace.integrations.stripe_sandbox import forms, sign

AUTH = {"Authorization": "Bearer sk_test_wire"}


@pytest.fixture
def sdk(bare_sandbox, stripe_sandbox_server):
    return stripe.StripeClient("sk_test_wire", base_addresses={
        "api": stripe_sandbox_server.url, "connect": stripe_sandbox_server.url})


def test_nested_form_keys_become_objects_and_lists():
    assert forms.parse("metadata[a]=1&metadata[b][c]=2&expand[0]=x&expand[1]=y&amount=5") == {
        "metadata": {"a": "1", "b": {"c": "2"}}, "expand": ["x", "y"], "amount": "5"}


def test_errors_are_stripes_json_with_its_status_codes(bare_sandbox, stripe_sandbox_server):
    url = stripe_sandbox_server.url
    unauthenticated = requests.get(f"{url}/v1/balance")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["type"] == "invalid_request_error"
    missing = requests.get(f"{url}/v1/transfers/tr_nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    bad = requests.post(f"{url}/v1/payment_intents", data={"currency": "usd"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "amount"
    declined = requests.post(f"{url}/v1/payment_intents", headers=AUTH, data={
        "amount": 900, "currency": "usd", "payment_method": "pm_card_chargeDeclined",
        "payment_method_types[0]": "card", "confirm": "true"})
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == \
        ("card_error", "card_declined", "generic_decline")
    assert requests.get(f"{url}/v1/nothing", headers=AUTH).status_code == 404
    live = requests.get(f"{url}/v1/balance", headers={"Authorization": "Bearer sk_live_x"})
    assert live.status_code == 401


def test_idempotency_key_replays_and_refuses_other_parameters(bare_sandbox,
                                                              stripe_sandbox_server):
    url, body = stripe_sandbox_server.url, {"amount": 700, "currency": "usd",
                                            "payment_method": "pm_card_visa", "confirm": "true"}
    headers = {**AUTH, "Idempotency-Key": "k-1"}
    first = requests.post(f"{url}/v1/payment_intents", data=body, headers=headers)
    again = requests.post(f"{url}/v1/payment_intents", data=body, headers=headers)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = requests.post(f"{url}/v1/payment_intents", data={**body, "amount": 800},
                          headers=headers)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    assert len(bare_sandbox.objects("payment_intent")) == 1


def test_stripe_account_header_scopes_balance_and_payouts(bare_sandbox, sdk):
    account = sdk.v1.accounts.create({"email": "a@wire.example"})
    bare_sandbox.complete_onboarding(account.id)
    bare_sandbox.fund_platform(5_000)
    sdk.v1.transfers.create({"amount": 3_000, "currency": "usd", "destination": account.id})
    theirs = sdk.v1.balance.retrieve(options={"stripe_account": account.id})
    ours = sdk.v1.balance.retrieve()
    assert (theirs.available[0].amount, ours.available[0].amount) == (3_000, 2_000)
    payout = sdk.v1.payouts.create({"amount": 1_000, "currency": "usd",
                                    "expand": ["balance_transaction"]},
                                   {"stripe_account": account.id})
    assert payout.balance_transaction.object == "balance_transaction"
    assert payout.balance_transaction.amount == -1_000
    assert sdk.v1.payouts.list(options={"stripe_account": account.id}).data[0].id == payout.id
    assert sdk.v1.payouts.list().data == []
    bare_sandbox.pay_payouts()
    assert [e["type"] for e in bare_sandbox.take_events()][-1] == "payout.paid"


def test_lists_page_with_has_more_and_starting_after(bare_sandbox, sdk):
    account = sdk.v1.accounts.create({"email": "p@wire.example"})
    bare_sandbox.fund_platform(5_000)
    made = [sdk.v1.transfers.create({"amount": 100 + i, "currency": "usd",
                                     "destination": account.id, "transfer_group": "pg"}).id
            for i in range(3)]
    page = sdk.v1.transfers.list({"transfer_group": "pg", "limit": 2})
    assert page.has_more is True and [t.id for t in page.data] == made[::-1][:2]
    rest = sdk.v1.transfers.list({"transfer_group": "pg", "limit": 2,
                                  "starting_after": page.data[-1].id})
    assert rest.has_more is False and [t.id for t in rest.data] == [made[0]]
    assert [t.id for t in sdk.v1.transfers.list({"transfer_group": "pg"}).auto_paging_iter()] \
        == made[::-1]


def test_events_are_signed_the_way_stripe_signs_them(bare_sandbox, sdk):
    sdk.v1.accounts.create({"email": "s@wire.example"})
    bare_sandbox.fund_platform(100)
    account = bare_sandbox.objects("account")[0]["id"]
    bare_sandbox.complete_onboarding(account)
    [event] = bare_sandbox.take_events()
    payload, header = bare_sandbox.signed(event, timestamp=1_700_000_000)
    stamp, mac = dict(part.split("=", 1) for part in header.split(",")).values()
    expected = hmac.new(bare_sandbox.webhook_secret.encode(), b"1700000000." + payload,
                        hashlib.sha256).hexdigest()
    assert (stamp, mac) == ("1700000000", expected)
    assert sign(payload, bare_sandbox.webhook_secret, 1_700_000_000) == header
    verified = stripe.Webhook.construct_event(payload, bare_sandbox.signed(event)[1],
                                              bare_sandbox.webhook_secret)
    assert verified.type == "account.updated" and verified.account == account
    assert json.loads(payload)["data"]["object"]["payouts_enabled"] is True


def test_a_bank_debit_settles_or_fails_from_the_dashboard(bare_sandbox, sdk,
                                                          stripe_sandbox_server):
    pis = [sdk.v1.payment_intents.create({
        "amount": 5_000, "currency": "usd", "payment_method_types": ["us_bank_account"],
        "payment_method": pm, "confirm": True,
        "mandate_data": {"customer_acceptance": {"type": "offline"}}}).id
        for pm in ("pm_usBankAccount_success", "pm_usBankAccount_success")]
    page = requests.get(f"{stripe_sandbox_server.url}/_sandbox")
    assert pis[0] in page.text and "Bank debits processing" in page.text
    requests.post(f"{stripe_sandbox_server.url}/_sandbox/payment_intents/{pis[0]}/settle")
    requests.post(f"{stripe_sandbox_server.url}/_sandbox/payment_intents/{pis[1]}/fail")
    first, second = (sdk.v1.payment_intents.retrieve(pi) for pi in pis)
    assert first.status == "succeeded"
    assert second.status == "requires_payment_method"
    assert second.last_payment_error.code == "account_closed"
