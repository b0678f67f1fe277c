"""In Chromium: a technician on a phone onboards through the sandbox's hosted Stripe page
and is back in the app with payouts on once Stripe's webhook says so; a firm tops up by
card (available at once) and by bank account (pending, then available when it settles).
Webhooks travel over HTTP from the sandbox to the served app."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.pay.rails_models import TopUp
from tests import factories
from tests.browser import PHONE, login, screenshot

pytestmark = pytest.mark.browser


def _reload_until(page, text: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.inner_text("main"):
        assert time.monotonic() < deadline, f"never saw {text!r}: {page.inner_text('main')}"
        time.sleep(0.25)
        page.reload()


def test_technician_onboards_and_firm_tops_up_by_card_and_bank(app, ctx, stripe_sandbox,
                                                               browser, live_server):
    tech = factories.technician(name="Tess Onboard", email="tess@rails.example")
    owner = factories.firm_user(Role.OWNER, email="owner@rails.example", name="Owen Funds")
    db.session.commit()
    stripe_sandbox.deliver_continuously(live_server.url)

    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, tech.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/")
    assert "You can't be paid yet." in page.inner_text("#payout-panel")
    page.goto(f"{live_server.url}/pay/payout-setup")
    screenshot(page, "rails-01-technician-not-payable")
    page.click("button:has-text(\"Set up payouts with Stripe\")")
    page.wait_for_url(f"{stripe_sandbox.base_url}/connect/onboarding/*")
    assert "Set up payouts" in page.inner_text("h1")
    assert page.input_value("#email") == "tess@rails.example"
    screenshot(page, "rails-02-stripe-hosted-onboarding")
    page.click("text=Agree and submit")
    page.wait_for_url(f"{live_server.url}/pay/payout-setup")
    assert "Stripe is checking your details" in page.inner_text("main")
    _reload_until(page, "Payouts are on.")
    screenshot(page, "rails-03-technician-payouts-on")
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/pay/funds")
    page.fill("#amount", "500")
    page.select_option("#payment_method", "pm_card_visa")
    page.click("#topup button[type=submit]")
    assert "$500.00" in page.inner_text("#funds-available")
    page.fill("#amount", "1,200.00")
    page.select_option("#payment_method", "pm_usBankAccount_success")
    page.click("#topup button[type=submit]")
    assert "$1,200.00" in page.inner_text("#funds-pending")
    assert "$500.00" in page.inner_text("#funds-available")
    assert "the bank is processing it" in page.inner_text("#topups")
    screenshot(page, "rails-04-firm-bank-top-up-pending")
    db.session.expire_all()
    bank = db.session.scalars(select(TopUp).where(TopUp.method == "us_bank_account")).one()
    stripe_sandbox.settle(bank.payment_intent_id)
    deadline = time.monotonic() + 10
    while "$1,700.00" not in page.inner_text("#funds-available"):
        assert time.monotonic() < deadline, page.inner_text("main")
        time.sleep(0.25)
        page.reload()
    assert "$0.00" in page.inner_text("#funds-pending")
    screenshot(page, "rails-05-firm-funds-available")
    page.fill("#amount", "50")
    page.select_option("#payment_method", "pm_card_chargeDeclined")
    page.click("#topup button[type=submit]")
    assert "Your card was declined" in page.inner_text("#topups")
    assert "$1,700.00" in page.inner_text("#funds-available")
    context.close()
