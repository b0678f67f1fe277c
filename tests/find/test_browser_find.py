"""In Chromium: a dispatcher creates an assignment from a template and sees who matches,
with explanations; a technician on a phone sees it in their feed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find import assignment_templates, assignments, attachments
from marketplace.find.attachment_models import Attachment
from marketplace.find.matching import rebuild_index
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.demo.find import scope_pdf
from marketplace.core.uploads import Upload
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, tech_at

pytestmark = pytest.mark.browser


def test_dispatcher_uses_a_template_sees_matches_and_a_technician_sees_it_in_the_feed(
        app, ctx, browser, live_server):
    owner = factories.firm_user(name="Dana Dispatch")
    skill = factories.SkillFactory(name="CCTV")
    nearest = tech_at(DALLAS[0] + 0.01, DALLAS[1], skills={skill.id: 2}, name="Omar Onsite")
    tech_at(DALLAS[0] + 0.08, DALLAS[1], skills={skill.id: 3}, name="Nia Near")
    tech_at(30.2672, -97.7431, skills={skill.id: 3}, name="Al Austin")       # 300 km away
    tech_at(DALLAS[0] + 0.02, DALLAS[1], skills={}, name="Uma Unskilled")   # no CCTV
    rebuild_index()
    first_day = clock.today() + timedelta(days=5)
    original = assignments.create_assignment(owner, {
        "title": "Install 8 cameras", "description": "Mount, aim and test on the NVR.",
        "address": "Dallas, TX 75201", "skills": {skill.id: 2}, "start_date":
        first_day.isoformat(), "start_time": "09:00", "end_time": "11:00", "pricing": "fixed",
        "rate": "240", "checklist": ["Photo of each camera view"]})
    attachments.add_attachment(owner, original, Upload("scope-of-work.pdf", scope_pdf(
        "Install 8 cameras", ["Mount, aim and test on the NVR."])))
    assignment_templates.save_as_template(owner, original, "Camera install (standard)")
    db.session.commit()
    day = clock.today() + timedelta(days=9)

    desk = browser.new_context().new_page()
    login(desk, live_server.url, owner.email, factories.PASSWORD)
    desk.goto(f"{live_server.url}/templates")
    desk.click("li:has-text('Camera install (standard)') >> text=Use")
    desk.wait_for_selector("text=These files come along: scope-of-work.pdf")
    assert desk.input_value("input[name=title]") == "Install 8 cameras"
    assert desk.input_value("input[name=start_date]") == ""     # everything but the date
    desk.fill("input[name=start_date]", day.isoformat())
    desk.check("input[name=publish]")
    screenshot(desk, "find-new-from-template")
    desk.click("button:has-text('Create')")
    desk.wait_for_selector("text=Assignment published.")

    db.session.expire_all()
    made = db.session.scalars(select(Assignment).where(Assignment.id != original.id)).one()
    assert made.status == AssignmentStatus.PUBLISHED and made.rate_cents == 24000
    assert db.session.scalars(select(Attachment.filename).where(
        Attachment.assignment_id == made.id)).all() == ["scope-of-work.pdf"]
    matches = desk.locator("ol.matches > li")
    assert matches.count() == 2
    first, second = matches.nth(0).inner_text(), matches.nth(1).inner_text()
    assert "Omar Onsite" in first and "Nia Near" in second
    assert "km, 1 of 1 skills" in first
    page_text = desk.inner_text("main")
    assert "Al Austin" not in page_text and "Uma Unskilled" not in page_text
    screenshot(desk, "find-dispatcher-matches")

    phone = browser.new_context(**PHONE)
    tech_page = phone.new_page()
    login(tech_page, live_server.url, nearest.user.email, factories.PASSWORD)
    tech_page.goto(f"{live_server.url}/feed")
    cards = tech_page.locator("ul.feed > li")
    texts = [cards.nth(i).inner_text() for i in range(cards.count())]
    # The published one made from the template (the original is still a draft),
    # with pay, window, firm and why it is shown.
    assert len(texts) == 1, texts
    card = texts[0]
    assert "Install 8 cameras" in card and "$240.00" in card and owner.firm.name in card
    assert day.strftime("%b %-d") in card and "9:00 AM" in card
    assert "km, 1 of 1 skills" in card
    assert tech_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(tech_page, "find-technician-feed-phone")
    phone.close()
