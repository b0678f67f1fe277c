"""End to end in Chromium: each role signs in on a phone and reaches its dashboard."""
from __future__ import annotations

import pytest

from tests import factories
from tests.browser import PHONE, login, screenshot

pytestmark = pytest.mark.browser


def test_each_role_reaches_its_dashboard_on_a_phone(app, ctx, browser, live_server):
    firm_owner = factories.firm_user(name="Fran Owner")
    tech = factories.technician(name="Tess Tech")
    admin = factories.admin(name="Adam Admin")
    for role, user, heading in (("firm", firm_owner, firm_owner.firm.name),
                                ("technician", tech, "Hi, Tess"),
                                ("admin", admin, "Platform admin")):
        context = browser.new_context(**PHONE)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, live_server.url, user.email, factories.PASSWORD)
        page.wait_for_selector("h1")
        assert heading in page.inner_text("h1")
        # the phone menu opens through app.js (no inline script under the CSP)
        page.click("button.nav-toggle")
        assert page.is_visible("#mainnav a:has-text('Notifications')")
        screenshot(page, f"foundation-{role}-dashboard-phone")
        assert not [e for e in errors if "Content Security Policy" in e], errors
        context.close()


def test_firm_signup_in_the_browser_shows_field_errors_then_succeeds(app, ctx, browser,
                                                                     live_server):
    page = browser.new_page()
    page.goto(f"{live_server.url}/signup/firm")
    page.fill("input[name=firm_name]", "Gulf Coast Cabling")
    page.fill("input[name=name]", "Gus Coast")
    page.fill("input[name=email]", "gus@gulfcoast.example")
    page.fill("input[name=password]", "short")
    page.click("button[type=submit]")
    assert "Use at least 10 characters." in page.inner_text(".field.has-error")
    assert page.input_value("input[name=firm_name]") == "Gulf Coast Cabling"
    screenshot(page, "foundation-signup-error")
    page.fill("input[name=password]", "Long-enough-42")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gulf Coast Cabling')")
    screenshot(page, "foundation-firm-dashboard-desktop")
    page.close()
