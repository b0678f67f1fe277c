"""The payments adapter under faults, through the real SDK over HTTP to the sandbox:
retries keep one object per idempotency key; errors become the PaymentError family."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from config import ProductionConfig
from marketplace.errors import (CardDeclined, InsufficientFunds, PaymentServiceUnavailable,
                                ValidationFailed)
from marketplace.integrations import payments
from marketplace.integrations.payments import Gateway
from tests.pay.conftest import WEBHOOK_SECRET


@pytest.fixture
def funded(bare_sandbox, stripe_sandbox_server):
    """A gateway with a short timeout, an onboarded account, and platform funds."""
    gw = Gateway(api_key="sk_test_faults", api_base=stripe_sandbox_server.url,
                 webhook_secrets=[WEBHOOK_SECRET], timeout=1.0)
    account = gw.create_connected_account(email="f@faults.example", ref="t", key="acct")
    bare_sandbox.complete_onboarding(account)
    bare_sandbox.fund_platform(100_000)
    return gw, account


def _transfer(gw, account, key="tr-1", amount=1_000):
    return gw.create_transfer(amount_cents=amount, currency="USD", destination=account,
                              transfer_group="g", key=key, metadata={})


def test_a_timeout_after_the_effect_then_a_retry_gives_one_transfer(bare_sandbox, funded):
    gw, account = funded
    bare_sandbox.fail_next("POST /v1/transfers", "timeout", seconds=1.5)
    made = _transfer(gw, account)
    assert [t.id for t in gw.list_transfers(transfer_group="g")] == [made.id]
    assert bare_sandbox.requests.count("POST /v1/transfers") == 2   # the SDK retried once
    again = _transfer(gw, account)                                  # our own retry, same key
    assert again.id == made.id and len(bare_sandbox.objects("transfer")) == 1


def test_a_response_lost_after_the_effect_gives_one_transfer(bare_sandbox, funded):
    gw, account = funded
    bare_sandbox.fail_next("POST /v1/transfers", "lost_response")
    made = _transfer(gw, account)
    assert [t["id"] for t in bare_sandbox.objects("transfer")] == [made.id]
    assert gw.balance(account)["USD"][0] == 1_000


def test_server_errors_are_retried_then_reported_as_unavailable(bare_sandbox, funded):
    gw, account = funded
    bare_sandbox.fail_next("POST /v1/transfers", "server_error")
    _transfer(gw, account)
    bare_sandbox.fail_next("POST /v1/transfers", "unavailable", times=3)
    with pytest.raises(PaymentServiceUnavailable, match="did not answer"):
        _transfer(gw, account, key="tr-2")
    assert len(bare_sandbox.objects("transfer")) == 1
    assert bare_sandbox.requests.count("POST /v1/transfers") == 5


def test_injected_decline_and_insufficient_balance(bare_sandbox, funded):
    gw, account = funded
    bare_sandbox.fail_next("POST /v1/payment_intents", "decline")
    with pytest.raises(CardDeclined, match="Your card was declined"):
        gw.create_payment_intent(amount_cents=5_000, currency="USD", method="card",
                                 payment_method="pm_card_visa", key="pi-1", metadata={})
    bare_sandbox.fail_next("POST /v1/payouts", "insufficient_balance")
    _transfer(gw, account)
    with pytest.raises(InsufficientFunds):
        gw.create_payout(account_id=account, amount_cents=500, currency="USD",
                         method="standard", key="po-1")


def test_amounts_convert_to_minor_units_in_one_place():
    assert payments.to_minor(12_345, "usd") == 12_345
    assert payments.to_minor(50_000, "JPY") == 500 and payments.from_minor(500, "jpy") == 50_000
    with pytest.raises(ValidationFailed):
        payments.to_minor(50_050, "JPY")


def test_the_instant_fee_is_one_and_a_half_percent_at_least_fifty_cents(sandbox_gateway):
    fee = sandbox_gateway.instant_payout_fee_cents
    assert (fee(1_000), fee(3_333), fee(3_334), fee(100_000)) == (50, 50, 50, 1_500)


def test_production_refuses_the_sandbox(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/prod")
    base = {"SECRET_KEY": "s"}
    for sandbox in ({"STRIPE_API_BASE": "http://127.0.0.1:12111"},
                    {"STRIPE_EMBEDDED_SANDBOX": True}):
        with pytest.raises(RuntimeError, match="sandbox"):
            ProductionConfig.validate({**base, **sandbox})
    ProductionConfig.validate({**base, "STRIPE_API_BASE": "https://api.stripe.com"})
    production = SimpleNamespace(config={"STRIPE_SECRET_KEY": "sk_live_x",
                                         "STRIPE_EMBEDDED_SANDBOX": False})
    assert payments.api_base(production) is None        # the SDK's default: Stripe


def test_readiness_reports_the_payment_service(stripe_sandbox, client, app):
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["payments"] == "ok"
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["payments"].startswith("error")
