"""In Chromium: a firm short of funds is told what is missing beside routing, tops up
through the ledger, routes and sees the work's reserve; the technician's offer (phone)
says the funds are secured; the firm's Payments settings."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core import clock
from marketplace.core.signals import technician_changed
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.pay.books_helpers import fund

pytestmark = pytest.mark.browser


def test_firm_sees_missing_funds_then_its_reserve_and_the_technician_sees_funds_secured(
        app, ctx, browser, live_server):
    app.config["PAY_FUNDS_REQUIRED"] = True
    try:
        owner = factories.firm_user(name="Rita Router")
        tech = tech_at(*DALLAS, name="Tom Tech")
        technician_changed.send(tech.id)
        job = make_assignment(owner, status=AssignmentStatus.DRAFT, title="Replace 4 switches",
                              starts_at=clock.now() + timedelta(days=4))
        job.budget_cents = job.rate_cents = 32000
        db.session.commit()
        fund(owner.firm.id, 12000)
        job_id, tech_email = job.id, tech.user.email

        desk = browser.new_context().new_page()
        login(desk, live_server.url, owner.email, factories.PASSWORD)
        desk.goto(f"{live_server.url}/assignments/{job_id}/route")
        missing = desk.text_content("#funds-missing")
        assert "You need $200.00 more to secure this work" in missing
        desk.select_option("select[name=target_1]", "technicians")
        desk.fill("[name=emails_1]", tech_email)
        desk.select_option("select[name=target_2]", "")
        desk.select_option("select[name=target_3]", "")
        desk.click("button:has-text('Route now')")
        desk.wait_for_selector("text=You need $200.00 more")
        assert desk.locator("text=You need $200.00 more").count() == 1   # said once
        screenshot(desk, "books-route-missing-funds")

        fund(owner.firm.id, 20000)
        desk.goto(f"{live_server.url}/assignments/{job_id}/route")
        assert desk.query_selector("#funds-missing") is None
        desk.select_option("select[name=target_1]", "technicians")
        desk.fill("[name=emails_1]", tech_email)
        desk.select_option("select[name=target_2]", "")
        desk.select_option("select[name=target_3]", "")
        desk.click("button:has-text('Route now')")
        desk.wait_for_selector("text=Routed. Offers are on their way.")
        line = " ".join(desk.text_content("#funds-line").split())
        assert "Funds secured $320.00 held for this work." in line
        assert "Your funds: $0.00 free to secure new work, $320.00 secured for routed work." in line
        screenshot(desk, "books-engagement-reserve")

        desk.goto(f"{live_server.url}/pay/settings")
        desk.select_option("select[name=auto_approve_days]", "5")
        desk.select_option("select[name=payment_terms_days]", "7")
        desk.click("button:has-text('Save')")
        desk.wait_for_selector("text=Payment settings saved.")
        assert "5 days after it is submitted; technicians are paid 7 days after approval" in \
            " ".join(desk.text_content("#pay-settings-now").split())
        screenshot(desk, "books-payment-settings")

        phone = browser.new_context(**PHONE).new_page()
        login(phone, live_server.url, tech_email, factories.PASSWORD)
        phone.goto(f"{live_server.url}/offers")
        phone.click("text=Replace 4 switches")
        secured = " ".join(phone.text_content("#funds-secured").split())
        assert secured.startswith("Funds secured $320.00 is held by Onsite for this work · "
                                  "Verified firm")
        screenshot(phone, "books-offer-funds-secured-phone")
    finally:
        app.config["PAY_FUNDS_REQUIRED"] = False
