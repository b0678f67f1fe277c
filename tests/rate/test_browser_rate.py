"""In a browser: after approval both sides rate; each sees the other's rating only once
both have; the technician's scorecard page shows its components; the firm's scorecard
shows on the technician's next offer."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.engage import routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import make_assignment
from tests.rate.helpers import approved_work

pytestmark = pytest.mark.browser


def test_both_sides_rate_then_see_each_other_and_the_scorecards(app, ctx, browser, live_server):
    owner, tech, job = approved_work()
    nxt = make_assignment(owner, title="Replace the switch", starts_at=job.starts_at
                          + timedelta(days=5))
    routing.route_assignment(owner, nxt, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    db.session.commit()
    offer_id = db.session.scalar(select(Offer.id).where(Offer.assignment_id == nxt.id))
    url, firm_name = live_server.url, owner.firm.name

    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(desk, url, owner.email, factories.PASSWORD)
    desk.goto(f"{url}/work/{job.id}/rating")
    desk.select_option("#f-overall", "4")
    desk.select_option("#f-quality", "5")
    desk.fill("#f-comment", "Neat cabling, on time")
    desk.fill("#f-private", "Could reply to messages faster")
    desk.click("button:has-text('Submit rating')")
    desk.wait_for_selector("text=your rating is saved")
    assert "Not rated yet" in desk.locator("#their-rating").inner_text()

    phone = browser.new_context(**PHONE).new_page()
    login(phone, url, tech.user.email, factories.PASSWORD)
    phone.goto(f"{url}/work/{job.id}/rating")
    sealed = phone.locator("#their-rating").inner_text()
    assert "They have rated" in sealed and "Neat cabling" not in sealed
    screenshot(phone, "rate-sealed-phone")
    phone.select_option("#f-overall", "5")
    phone.select_option("#f-payment_speed", "4")
    phone.fill("#f-comment", "Clear scope, site ready")
    phone.click("button:has-text('Submit rating')")
    phone.wait_for_selector("text=your rating is saved")
    theirs = phone.locator("#their-rating").inner_text()
    assert "Neat cabling, on time" in theirs and "4 of 5" in theirs
    assert "Could reply" not in phone.content()
    screenshot(phone, "rate-revealed-phone")

    desk.reload()
    shown = desk.locator("#their-rating").inner_text()
    assert "Clear scope, site ready" in shown and "5 of 5" in shown
    screenshot(desk, "rate-revealed-firm")

    phone.goto(f"{url}/me/scorecard")
    card = phone.locator("#card").inner_text()
    assert "New" in card and "4 more completed jobs" in card
    for name in ("On-time arrival", "Kept commitments", "First-time completion",
                 "SLA adherence", "Rating"):
        assert name in phone.locator("#components").inner_text()
    assert "4.0★" in card and "1 rating" in card
    events = phone.locator("#events").inner_text()
    assert "Arrived on time" in events and "Rated by the firm (4★)" in events
    screenshot(phone, "rate-scorecard-phone")

    phone.goto(f"{url}/offers/{offer_id}")
    about = phone.locator("#firm-scorecard").inner_text()
    assert "5.0★ from 1 technician rating" in about and "1 job" in about
    assert "Verified firm" in about
    screenshot(phone, "rate-offer-firm-card-phone")
    assert firm_name in phone.content()
