"""In Chromium on a phone: the feed's cards lead somewhere. A technician takes marketplace
work from its card, sees the work held on offer marked, and the dashboard shows the feed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.signals import technician_changed
from marketplace.engage import routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, make_assignment, tech_at

pytestmark = pytest.mark.browser


def _route(owner, job, mode, stage):
    routing.route_assignment(owner, job, mode=mode, stages=[stage])
    db.session.commit()


def test_technician_takes_work_from_the_feed_and_sees_their_offer_marked(
        app, ctx, browser, live_server):
    owner = factories.firm_user(name="Dana Dispatch")
    skill = factories.SkillFactory(name="CCTV")
    me = tech_at(*DALLAS, skills={skill.id: 3}, name="Tia Taker")
    technician_changed.send(me.id)
    soon = clock.now() + timedelta(days=3)
    # Nearest: open to the marketplace, first to accept. Further: offered to me by name.
    # Further still: apply-and-choose marketplace work.
    open_job = make_assignment(owner, skills={skill.id: 1}, status=AssignmentStatus.DRAFT,
                               title="Mount 4 cameras", starts_at=soon)
    offered = make_assignment(owner, skills={skill.id: 1}, status=AssignmentStatus.DRAFT,
                              title="Rewire the NVR", lat=DALLAS[0] + 0.03,
                              starts_at=soon + timedelta(days=1))
    applying = make_assignment(owner, skills={skill.id: 1}, status=AssignmentStatus.DRAFT,
                               title="Survey a warehouse", lat=DALLAS[0] + 0.06,
                               starts_at=soon + timedelta(days=2))
    _route(owner, open_job, RoutingMode.FIRST_TO_ACCEPT, StagePlan(TargetKind.MARKETPLACE))
    _route(owner, offered, RoutingMode.FIRST_TO_ACCEPT,
           StagePlan(TargetKind.TECHNICIANS, technician_ids=[me.id]))
    _route(owner, applying, RoutingMode.APPLY_AND_CHOOSE, StagePlan(TargetKind.MARKETPLACE))
    offer_id = db.session.scalar(select(Offer.id).where(Offer.assignment_id == offered.id))
    open_id = open_job.id

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    login(page, live_server.url, me.user.email, factories.PASSWORD)

    # The dashboard's "Work near you" shows the first jobs of /feed, in its order.
    page.goto(f"{live_server.url}/tech")
    panel = page.locator("#work-near-you > li")
    panel_titles = [panel.nth(i).locator(".row span").first.inner_text()
                    for i in range(panel.count())]
    screenshot(page, "ui-technician-dashboard-work-near-you-phone")

    page.goto(f"{live_server.url}/feed")
    cards = page.locator("ul.feed > li")
    titles = [cards.nth(i).locator(".row strong").first.inner_text() for i in range(cards.count())]
    assert titles == ["Mount 4 cameras", "Rewire the NVR", "Survey a warehouse"]
    assert panel_titles == titles[:3]
    first, second, third = (cards.nth(i) for i in range(3))
    assert first.locator("button").inner_text() == "Take it"
    assert "You have an offer" in second.inner_text()
    assert second.locator("a:has-text('Details')").get_attribute("href") == f"/offers/{offer_id}"
    assert third.locator("button").inner_text() == "Apply"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, "ui-feed-cards-phone")

    first.locator("button:has-text('Take it')").click()
    page.wait_for_selector("text=This job is yours.")
    assert "It's yours. See you on site." in page.inner_text(".flashes")
    screenshot(page, "ui-feed-took-it-phone")
    db.session.expire_all()
    taken = db.session.get(Assignment, open_id)
    assert (taken.status, taken.assignee_id) == (AssignmentStatus.ASSIGNED, me.id)

    # The read-only page of marketplace work, reached from its card.
    page.goto(f"{live_server.url}/feed")
    page.locator("li:has-text('Survey a warehouse') >> a:has-text('Details')").click()
    assert "The firm chooses among the technicians who apply." in page.inner_text("main")
    screenshot(page, "ui-marketplace-detail-phone")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("text=Applied. The firm will choose soon.")
    page.goto(f"{live_server.url}/feed")
    assert "Applied" in page.locator("li:has-text('Survey a warehouse')").inner_text()
    phone.close()
