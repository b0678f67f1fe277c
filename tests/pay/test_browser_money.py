"""The money journey in a browser: the firm funds, routes (its reserve shows) and approves;
on a phone the technician sees the payout date on the offer, then the payout on the
statement, and an instant payout's fee before confirming."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.money import format_money
from marketplace.engage.models import Offer
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from marketplace.integrations import payments
from marketplace.manage import review, visits
from marketplace.manage.geofence import Fix
from marketplace.pay.payout_dates import promised_date
from marketplace.pay.payout_models import InstantPayout
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.manage.helpers import at_site
from tests.pay.payout_helpers import intent_of, onboard

pytestmark = pytest.mark.browser


def _money(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def test_fund_route_approve_then_paid_with_the_date_and_instant_fee_shown(
        pay_app, stripe_sandbox, ctx, browser, live_server):
    base = live_server.url
    owner = factories.firm_user(email="owner@money.example")
    tech = tech_at(*DALLAS)
    start = clock.now().replace(microsecond=0) + timedelta(hours=3)
    job = make_assignment(owner, status=AssignmentStatus.DRAFT, starts_at=start, hours=2,
                          checklist=[], title="Rack and stack")
    job.budget_cents = job.rate_cents = 20000
    db.session.commit()
    onboard(stripe_sandbox, tech)
    stripe_sandbox.fund_platform(1_000_000)
    job_id, promised = job.id, promised_date(job)

    # The firm, on a desktop: funds, routes, sees the reserve.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    firm = desk.new_page()
    firm.set_default_timeout(10_000)
    login(firm, base, owner.email, factories.PASSWORD)
    firm.goto(f"{base}/pay/funds")
    screenshot(firm, "pay-firm-funds-desktop")
    firm.fill("input[name=amount]", "500.00")
    firm.select_option("select[name=payment_method]", "pm_card_visa")
    firm.click("#topup button[type=submit]")
    firm.goto(f"{base}/pay/funds")
    assert _money(firm, "#funds-available .stat-value") == "$500.00"
    firm.goto(f"{base}/assignments/{job_id}/route")
    firm.select_option("select[name=target_1]", "technicians")
    firm.fill("input[name=emails_1]", tech.user.email)
    firm.click("button:has-text('Route now')")
    firm.goto(f"{base}/pay/spend")
    assert _money(firm, "#balance-reserved .stat-value") == "$200.00"
    assert _money(firm, "#balance-available .stat-value") == "$300.00"
    screenshot(firm, "pay-firm-reserve-desktop")

    # The technician, on a phone: the payout date before accepting.
    phone = browser.new_context(**PHONE)
    tp = phone.new_page()
    tp.set_default_timeout(10_000)
    login(tp, base, tech.user.email, factories.PASSWORD)
    offer_id = db.session.scalar(select(Offer.id).where(Offer.assignment_id == job_id))
    tp.goto(f"{base}/offers/{offer_id}")
    shown = tp.locator("#payout-date").inner_text()
    assert shown == "Paid on " + promised.strftime("%a %b %-d, %Y")
    screenshot(tp, "pay-offer-payout-date-phone")
    tp.click("button:has-text('Accept at')")
    tp.wait_for_selector("text=Accepted")

    # The work happens (services), then the firm approves on its page.
    db.session.expire_all()
    job = db.session.get(type(job), job_id)
    clock.travel_to(job.starts_at)
    fix = lambda: Fix.parse(at_site(job), default_time=clock.now())  # noqa: E731
    visits.check_in(tech.user, job, at=clock.now(), fix=fix())
    clock.advance(timedelta(hours=2))
    visits.check_out(tech.user, job, at=clock.now(), fix=fix())
    review.submit(tech.user, job, "done")
    db.session.commit()
    firm.goto(f"{base}/work/{job_id}")
    firm.click("button:has-text('Approve $200.00')")
    firm.wait_for_load_state()
    intent = intent_of(job_id)
    assert intent.transfer_id, "the transfer was not made after the approval"
    firm.goto(f"{base}/pay/spend")
    assert "INV-" in firm.locator("#invoices").inner_text()
    screenshot(firm, "pay-firm-spend-desktop")

    # The payout on the technician's statement.
    tp.goto(f"{base}/pay/earnings")
    assert _money(tp, "#balance-in-transit .stat-value") == format_money(intent.amount_cents)
    tp.click("#statements a")
    paid_line = tp.locator("#document-payout").inner_text()
    assert paid_line.startswith("Paid on " + intent.sent_at.strftime("%a %b %-d, %Y"))
    assert _money(tp, "#document-net") == format_money(intent.amount_cents)
    screenshot(tp, "pay-statement-phone")

    # An instant payout shows Stripe's fee before anything is sent.
    tp.goto(f"{base}/pay/instant")
    fee_text = _money(tp, "#quote-fee")
    amount_text = _money(tp, "#quote-amount")
    screenshot(tp, "pay-instant-quote-phone")
    assert db.session.query(InstantPayout).count() == 0
    amount = int(re.sub(r"[^0-9]", "", amount_text))
    fee = payments.gateway().instant_payout_fee_cents(amount, "USD")
    assert fee_text.startswith(format_money(fee)) and f"({fee} cents" in fee_text
    tp.click("button:has-text('Pay me')")
    tp.wait_for_selector("#instant-payouts")
    row = tp.locator("#instant-payouts tbody tr").first.inner_text()
    assert format_money(amount) in row and format_money(fee) in row
    screenshot(tp, "pay-earnings-after-instant-phone")
    [stripe_payout] = [p for p in stripe_sandbox.objects("payout") if p["method"] == "instant"]
    assert stripe_payout["amount"] == amount
