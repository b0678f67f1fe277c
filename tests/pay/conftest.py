"""The Stripe sandbox for the pay tests: one server on a loopback port per session,
its state reset for each test, the app's SDK pointed at it through STRIPE_API_BASE.

    def test_x(app, stripe_sandbox, client):
        stripe_sandbox.fail_next("POST /v1/transfers", kind="lost_response")
        ... the app calls Stripe through payments.gateway() ...
        stripe_sandbox.settle(pi_id)                 # a bank debit leaves `processing`
        stripe_sandbox.deliver_events(client)        # signed webhooks to /webhooks/stripe
        stripe_sandbox.deliver_events(client, order="reversed", times=3)

Fault kinds: server_error (500 before the effect), unavailable (503), timeout (the
effect happens, the answer comes after the client gave up), lost_response (the effect
happens, the connection drops), decline (the next card is declined),
insufficient_balance (the next transfer, payout or transfer reversal). The SDK retries 5xx, timeouts and
lost connections with the same idempotency key, as it does against Stripe.
"""
from __future__ import annotations

import pytest

from marketplace.integrations.stripe_sandbox import Sandbox, SandboxServer

WEBHOOK_SECRET = "whsec_pay_tests"
SETTINGS = ("STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY",
            "STRIPE_TIMEOUT_SECONDS", "STRIPE_SANDBOX_WEBHOOKS")


@pytest.fixture(scope="session")
def stripe_sandbox_server():
    server = SandboxServer(Sandbox(webhook_secret=WEBHOOK_SECRET)).start()
    yield server
    server.stop()


@pytest.fixture
def stripe_sandbox(stripe_sandbox_server, app):
    """The sandbox (`marketplace.integrations.stripe_sandbox.Sandbox`), empty, with the
    app's payments pointed at it; `.base_url` is where it listens."""
    sandbox = stripe_sandbox_server.sandbox
    sandbox.stop_delivering()
    sandbox.reset()
    saved = {name: app.config.get(name) for name in SETTINGS}
    app.config.update(STRIPE_API_BASE=stripe_sandbox_server.url,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_SECRET_KEY="sk_test_pay",
                      STRIPE_TIMEOUT_SECONDS=5.0, STRIPE_SANDBOX_WEBHOOKS="manual")
    yield sandbox
    sandbox.stop_delivering()
    sandbox.reset()
    app.config.update(saved)


@pytest.fixture
def pay_app(app, stripe_sandbox):
    """The app with its payments on the test sandbox."""
    return app


@pytest.fixture
def gateway(pay_app):
    """The payments adapter of the app, in an app context."""
    from marketplace.integrations import payments
    with pay_app.app_context():
        yield payments.gateway()


@pytest.fixture
def bare_sandbox(stripe_sandbox_server):
    """The sandbox, empty, for tests that need no app or database."""
    sandbox = stripe_sandbox_server.sandbox
    sandbox.reset()
    yield sandbox
    sandbox.stop_delivering()
    sandbox.reset()


@pytest.fixture
def sandbox_gateway(bare_sandbox, stripe_sandbox_server):
    """The payments adapter (official SDK) pointed at the sandbox, without an app."""
    from marketplace.integrations.payments import Gateway
    return Gateway(api_key="sk_test_pay", api_base=stripe_sandbox_server.url,
                   webhook_secrets=[WEBHOOK_SECRET], timeout=5.0)
