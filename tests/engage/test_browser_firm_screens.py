"""In Chromium: a firm's screens lead somewhere. The dashboard lists its work and its counters
open the lists they count; assigned work names its technician; the timeline reads as
sentences; the CSV page fits a phone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.signals import technician_changed
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, make_assignment, tech_at

pytestmark = pytest.mark.browser


def test_firm_dashboard_counters_assignment_page_and_timeline(app, ctx, browser, live_server):
    owner = factories.firm_user(name="Olive Owner")
    skill = factories.SkillFactory(name="CCTV")
    dana = tech_at(*DALLAS, skills={skill.id: 3}, name="Dana Reyes")
    technician_changed.send(dana.id)
    soon = clock.now() + timedelta(days=3)
    jobs = {}
    for i, title in enumerate(["Install 8 cameras", "Rewire the NVR", "Survey a warehouse"]):
        jobs[title] = make_assignment(owner, title=title, skills={skill.id: 1},
                                      status=AssignmentStatus.DRAFT,
                                      starts_at=soon + timedelta(days=i))
        routing.route_assignment(owner, jobs[title], mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
            StagePlan(TargetKind.TECHNICIANS, technician_ids=[dana.id])])
    db.session.commit()

    def offer(title):
        return db.session.scalar(select(Offer).where(Offer.assignment_id == jobs[title].id))
    offers.propose_counteroffer(dana.user, offer("Install 8 cameras"), price_cents=24000)
    db.session.commit()
    offers.decide_counteroffer(owner, offer("Install 8 cameras").pending_counteroffer, True)
    offers.propose_counteroffer(dana.user, offer("Rewire the NVR"), price_cents=26000)
    db.session.commit()
    assigned_id = jobs["Install 8 cameras"].id

    page = browser.new_context(**PHONE).new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/firm")
    panel = page.inner_text("#firm-assignments")
    assert "No assignments yet." not in panel
    for title in jobs:
        assert title in panel
    tiles = " ".join(page.inner_text("#firm-engagement").split())
    assert "1 counteroffer to answer" in tiles and "2 assignments looking for a technician" in tiles
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, "ui-firm-dashboard-phone")

    page.click("text=counteroffer to answer")
    page.wait_for_selector("#list-filter")
    assert "with counteroffers to answer" in page.inner_text("#list-filter")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "Rewire the NVR" in rows.first.inner_text()
    screenshot(page, "ui-assignments-needing-an-answer-phone")

    page.goto(f"{live_server.url}/assignments/{assigned_id}")
    screenshot(page, "ui-assigned-assignment-phone")
    details = page.inner_text("dl.details")
    assert "Assigned to\nDana Reyes" in details or "Assigned to\tDana Reyes" in details
    assert "Matching technicians" not in page.inner_text("main")
    page.click("dl.details >> text=Dana Reyes")
    page.wait_for_selector("#assignment-counts")
    assert "Dana Reyes" in page.inner_text("h1")
    assert "1 assignment with you: 1 assigned." in page.inner_text("#assignment-counts")

    page.goto(f"{live_server.url}/assignments/{assigned_id}/engagement")
    timeline = page.inner_text("#timeline")
    assert "Dana Reyes sent a counteroffer" in timeline
    assert "Dana Reyes's counteroffer was accepted by Olive Owner" in timeline
    assert "counteroffer.accepted" not in timeline
    screenshot(page, "ui-engagement-timeline-phone")
    page.context.close()


def test_csv_upload_page_fits_a_phone(app, ctx, browser, live_server):
    owner = factories.firm_user()
    page = browser.new_context(**PHONE).new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/assignments/import")
    assert "title,address,date" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(page, "ui-csv-import-phone")
    page.context.close()
