"""At desktop size: the board flags a late technician and draws its map with no tiles; a
KPI chart; then a message thread answered from a 390×844 phone."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.manage import messages
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.manage.helpers import taken_work

pytestmark = pytest.mark.browser


def test_board_kpis_and_a_thread(app, ctx, browser, live_server):
    start = clock.now().replace(microsecond=0) - timedelta(minutes=40)
    owner, tech, job = taken_work(starts_at=start)
    clock.reset()
    thread = messages.access_thread(owner, job.id, tech.id)
    messages.post(owner, thread, "Are you on your way? The customer is waiting.")
    db.session.commit()
    job_id, title = job.id, job.title

    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(desk, live_server.url, owner.email, factories.PASSWORD)
    desk.goto(f"{live_server.url}/board")
    first = desk.locator("#board-rows tr").first
    assert title in first.inner_text() and "Late" in first.inner_text()
    assert "1 need attention" in desk.locator("#board-counts").inner_text()
    desk.wait_for_selector("#board-map[data-markers='1']")
    assert desk.locator(".job-marker").count() == 1
    assert "Dallas, TX" in desk.locator(".leaflet-tooltip").first.inner_text()
    assert desk.locator(".leaflet-tile").count() == 0  # no tiles: a plain background
    screenshot(desk, "manage-board-desktop")

    desk.goto(f"{live_server.url}/kpis")
    assert desk.locator("#kpi-on_time svg.spark").count() == 1
    assert "On-time arrival rate" in desk.locator("#kpi-on_time").inner_text()
    screenshot(desk, "manage-kpis-desktop")

    phone = browser.new_context(**PHONE).new_page()
    login(phone, live_server.url, tech.user.email, factories.PASSWORD)
    phone.goto(f"{live_server.url}/today")
    assert phone.locator(".mainnav a:has-text('Messages') .bell-count").inner_text() == "1"
    phone.goto(f"{live_server.url}/messages")
    phone.click(f"text={title}")
    assert "Are you on your way?" in phone.locator(".messages").inner_text()
    phone.fill("textarea[name=body]", "Parking now, 2 minutes.")
    phone.click("button:has-text('Send')")
    phone.wait_for_selector("text=Parking now, 2 minutes.")
    screenshot(phone, "manage-thread-phone")
    overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False

    desk.goto(f"{live_server.url}/work/{job_id}/messages/{tech.id}")
    assert "Parking now, 2 minutes." in desk.locator(".messages").inner_text()

