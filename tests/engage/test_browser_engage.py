"""In Chromium: route to a pool, counteroffer on a phone, accept it, back out, backfill."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.engage.models import Offer, OfferSource, OfferStatus
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus, PoolMember, PoolMemberStatus, TalentPool
from marketplace.core.signals import technician_changed
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, make_assignment, tech_at

pytestmark = pytest.mark.browser


def test_pool_routing_counteroffer_backout_and_backfill(app, ctx, browser, live_server):
    owner = factories.firm_user(name="Dana Dispatch")
    skill = factories.SkillFactory(name="CCTV")
    member = tech_at(*DALLAS, skills={skill.id: 3}, name="Pat Pool")
    standby = tech_at(DALLAS[0] + 0.02, DALLAS[1], skills={skill.id: 3}, name="Sam Standby")
    for t in (member, standby):
        technician_changed.send(t.id)
    pool = TalentPool(firm_id=owner.firm.id, name="Dallas CCTV")
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolMember(pool_id=pool.id, technician_id=member.id, status=PoolMemberStatus.ACTIVE))
    job = make_assignment(owner, skills={skill.id: 1}, status=AssignmentStatus.DRAFT,
                          title="Install 8 cameras", starts_at=clock.now() + timedelta(days=4))
    db.session.commit()
    job_id = job.id

    firm = browser.new_context()
    desk = firm.new_page()
    login(desk, live_server.url, owner.email, factories.PASSWORD)
    desk.goto(f"{live_server.url}/assignments/{job_id}/route")
    desk.select_option("select[name=target_1]", "pool")
    desk.select_option("select[name=pools_1]", str(pool.id))
    desk.select_option("select[name=target_2]", "")
    desk.select_option("select[name=target_3]", "")
    screenshot(desk, "engage-route-to-pool")
    desk.click("button:has-text('Route now')")
    desk.wait_for_selector("text=Routed. Offers are on their way.")

    phone = browser.new_context(**PHONE)
    tech_page = phone.new_page()
    login(tech_page, live_server.url, member.user.email, factories.PASSWORD)
    tech_page.goto(f"{live_server.url}/offers")
    tech_page.click("text=Install 8 cameras")
    tech_page.click("summary:has-text('Counteroffer')")
    tech_page.fill("input[name='counter-price']", "240.00")
    tech_page.fill("input[name='counter-expenses']", "15.00")
    tech_page.fill("textarea[name='counter-note']", "Lift rental needed")
    screenshot(tech_page, "engage-technician-counteroffer-phone")
    tech_page.click("button:has-text('Send counteroffer')")
    tech_page.wait_for_selector("text=Waiting for the firm.")

    desk.goto(f"{live_server.url}/assignments/{job_id}/engagement")
    assert "Lift rental needed" in desk.inner_text("#offers")
    desk.click("button:has-text('Accept counteroffer')")
    desk.wait_for_selector("text=Assigned to Pat Pool")
    screenshot(desk, "engage-firm-assigned")

    tech_page.reload()
    assert "This job is yours." in tech_page.inner_text("main")
    assert "$240.00 + $15.00 expenses" in tech_page.inner_text("main")
    tech_page.on("dialog", lambda d: d.accept())
    tech_page.click("summary:has-text('Back out')")
    tech_page.fill("input[name='backout-reason']", "Family emergency")
    tech_page.click("button:has-text('Back out')")
    tech_page.wait_for_selector("text=You are off this assignment.")

    db.session.expire_all()
    assert db.session.get(Assignment, job_id).status == AssignmentStatus.PUBLISHED
    offer = db.session.scalar(select(Offer).where(Offer.technician_id == standby.id))
    assert offer.source == OfferSource.STANDBY and offer.status == OfferStatus.OPEN

    standby_phone = browser.new_context(**PHONE)
    sp = standby_phone.new_page()
    login(sp, live_server.url, standby.user.email, factories.PASSWORD)
    sp.goto(f"{live_server.url}/offers/{offer.id}")
    assert "Accept at $200.00" in sp.inner_text("main")
    screenshot(sp, "engage-standby-offer-phone")
    desk.goto(f"{live_server.url}/assignments/{job_id}/engagement")
    assert "backed out" in desk.inner_text("#timeline")
    screenshot(desk, "engage-firm-timeline")
    for c in (firm, phone, standby_phone):
        c.close()
