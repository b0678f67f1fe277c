"""In Chromium: a dispatcher finds technicians by skill near a ZIP code, reads a profile
(credentials, history with the firm, the scorecard to come), adds someone to a pool by
typing their name, and reads the compliance report and its CSV; an admin finds a
technician among the users, suspends them with a reason and finds it in the audit log."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role
from marketplace.find import pools
from marketplace.core import clock
from marketplace.engage.models import Backout, Offer, OfferStatus
from marketplace.extensions import db
from marketplace.find.geo import distance_km
from marketplace.find.models import AssignmentStatus, PoolMember, PoolMemberStatus, TalentPool
from marketplace.integrations.geocoding import geocode
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.find.helpers import DALLAS, give_credential, make_assignment, requirement_set, tech_at

pytestmark = pytest.mark.browser


def _world():
    clock.travel_to(datetime(2030, 5, 1, 15, tzinfo=timezone.utc))
    owner = factories.firm_user(Role.OWNER, name="Olive Owner")
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm, name="Dee Dispatch")
    owner.firm.name = "Northstar IT"
    admin = factories.admin(name="Ada Admin")
    cctv = factories.SkillFactory(name="CCTV")
    fiber = factories.SkillFactory(name="Fiber splicing")
    dana = tech_at(DALLAS[0] + 0.02, DALLAS[1], skills={cctv.id: 3, fiber.id: 2},
                   name="Dana Reyes", headline="CCTV, access control, 8 years",
                   travel_radius_km=60, phone="+1 214 555 0101")
    dale = tech_at(DALLAS[0] + 0.2, DALLAS[1] - 0.1, skills={cctv.id: 3}, name="Dale Ortiz",
                   headline="Low-voltage and cameras")
    tech_at(DALLAS[0] - 0.1, DALLAS[1] + 0.05, skills={cctv.id: 1}, name="Dan Novak",
            headline="Learning the trade")
    tech_at(30.2672, -97.7431, skills={cctv.id: 4}, name="Ana Park", city="Austin")
    insured, insurance = requirement_set(owner.firm, name="Insured site work")
    give_credential(dana, insurance, expires_on=clock.today() + timedelta(days=25))
    pool = TalentPool(firm_id=owner.firm.id, name="Dallas regulars")
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolMember(pool_id=pool.id, technician_id=dana.id,
                              status=PoolMemberStatus.ACTIVE))
    start = clock.now() + timedelta(days=3)
    held = make_assignment(owner, title="Install 8 cameras", status=AssignmentStatus.ASSIGNED,
                           assignee_id=dana.id, requirement_set_id=insured.id, starts_at=start)
    declined = make_assignment(owner, title="Rewire the NVR", starts_at=start)
    left = make_assignment(owner, title="Survey a warehouse", starts_at=start)
    late = make_assignment(owner, title="Annual camera service", status=AssignmentStatus.ASSIGNED,
                           assignee_id=dana.id, requirement_set_id=insured.id,
                           starts_at=clock.now() + timedelta(days=40))
    db.session.add_all([
        Offer(assignment_id=held.id, technician_id=dana.id, price_cents=24000,
              status=OfferStatus.ACCEPTED, expires_at=start),
        Offer(assignment_id=late.id, technician_id=dana.id, price_cents=18000,
              status=OfferStatus.ACCEPTED, expires_at=start),
        Offer(assignment_id=declined.id, technician_id=dana.id, price_cents=15000,
              status=OfferStatus.DECLINED, decline_reason="Booked that day", expires_at=start),
        Backout(assignment_id=left.id, technician_id=dana.id, reason="Van broke down",
                hours_before_start=30)])
    db.session.commit()
    return {"dispatcher": dispatcher, "admin": admin, "dana": dana, "dale": dale,
            "pool": pool, "cctv": cctv, "insured": insured}


def test_dispatcher_finds_reads_and_picks_technicians_and_reads_compliance(
        app, ctx, browser, live_server):
    w = _world()
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, base, w["dispatcher"].email, factories.PASSWORD)

    # The directory: advanced CCTV near a ZIP code, nearest first, with distances.
    page.click("nav >> text=Technicians")
    page.select_option("#skill", label="CCTV")
    page.select_option("#level", label="Advanced")
    page.fill("#near", "75201")
    page.fill("#within", "50")
    page.click("#directory-search button[type=submit]")
    page.wait_for_selector("#directory-results")
    site = geocode("75201")
    away = {t.name: distance_km(site.lat, site.lon, t.lat, t.lon) for t in (w["dana"], w["dale"])}
    count = page.inner_text("#directory-count")
    assert count.startswith("2 technicians within 50 km of Dallas, TX 75201, nearest first")
    rows = page.locator("#directory-results > li")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "Dana Reyes" in first and f"{away['Dana Reyes']:.1f} km away" in first
    assert "Works with you" in first and "CCTV · Advanced" in first
    assert "Dale Ortiz" in second and f"{away['Dale Ortiz']:.1f} km away" in second
    assert "Dan Novak" not in page.inner_text("main")       # CCTV at entry level only
    screenshot(page, "people-directory")

    # A profile: public facts, credentials (the firm works with Dana), history, scorecard.
    page.click("#directory-results >> text=Dana Reyes")
    page.wait_for_selector("#public-profile")
    assert page.inner_text("h1") == "Dana Reyes"
    facts = page.inner_text("#public-profile")
    assert "Travels up to 60 km" in facts and "+1 214 555 0101" in facts
    assert "Meets Insured site work" in page.inner_text("#set-status")
    assert page.inner_text("#assignment-counts") == "2 assignments with you: 2 assigned."
    assert page.inner_text("#offer-counts") == "3 offers from you: 2 accepted, 1 declined."
    assert page.inner_text("#backout-counts") == "1 backout on your work."
    assert "Van broke down" in page.inner_text("#backout-history")
    assert "Scorecard" in page.inner_text("#scorecard")
    screenshot(page, "people-profile")

    # The pool form: suggestions as a name is typed; an ambiguous name says so and stays.
    page.goto(f"{base}/pools/{w['pool'].id}")
    page.locator("#technician_id").press_sequentially("Da", delay=40)
    page.wait_for_selector("#technician_id[data-suggested='3']", state="attached")
    options = page.eval_on_selector_all("#technician-options option",
                                        "els => els.map(e => e.value)")
    assert f"Dale Ortiz · Dallas, TX · #{w['dale'].id}" in options
    page.click("#member-form button[type=submit]")
    page.wait_for_selector("#member-form .error")
    assert "3 technicians match “Da”: pick one from the list." in page.inner_text("#member-form")
    assert page.input_value("#technician_id") == "Da"
    screenshot(page, "people-pool-picker-ambiguous")
    page.fill("#technician_id", "Dale Ortiz")
    page.select_option("#action", "invite")
    page.click("#member-form button[type=submit]")
    page.wait_for_selector("text=Pool updated.")
    members = page.inner_text("#pool-members")
    assert "Dale Ortiz" in members and "Dana Reyes" in members
    screenshot(page, "people-pool-picker-added")
    assert "invited" in members
    # Dale accepts the invitation (on his pools page): now the firm works with him.
    db.session.rollback()
    pools.accept_invitation(w["dale"], w["pool"])
    db.session.commit()

    # The compliance report: figures that open the technicians they count.
    page.click("nav >> text=Compliance")
    page.wait_for_selector("#set-summary")
    summary = page.inner_text("#set-summary")
    assert "Insured site work\n1 of 2\nmeet it · 1 does not" in summary
    assert "1\ncredential expires within 30 days · 1 technician" in \
        page.inner_text("#expiring-summary")
    risk = page.inner_text("#work-at-risk")
    assert "1 booked assignment has a technician who does not meet its requirements" in risk
    assert "Annual camera service" in risk and "Install 8 cameras" not in risk
    screenshot(page, "people-compliance-report")
    page.click("#set-summary >> text=1 does not")
    page.wait_for_selector("#technician-list")
    assert "Not meeting Insured site work" in page.inner_text("h2#listed")
    assert "Dale Ortiz" in page.inner_text("#technician-list")
    assert "Dana Reyes" not in page.inner_text("#technician-list")
    with page.expect_download() as download:
        page.click("text=Download CSV")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0][:2] == ["Technician id", "Name"] and len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"Dana Reyes", "Dale Ortiz"}

    phone = browser.new_context(**PHONE).new_page()
    login(phone, base, w["dispatcher"].email, factories.PASSWORD)
    phone.goto(f"{base}/technicians?skill={w['cctv'].id}")
    assert phone.locator("#directory-results > li").count() == 4
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(phone, "people-directory-phone")


def test_admin_finds_a_technician_suspends_them_and_reads_the_audit_log(
        app, ctx, browser, live_server):
    w = _world()
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base, w["admin"].email, factories.PASSWORD)
    page.click("nav >> text=Users")
    page.fill("#q", "dana")
    page.select_option("#role", "technician")
    page.click("#user-search button[type=submit]")
    page.wait_for_selector("#user-results")
    assert page.inner_text("#user-count") == "1 user."
    assert "Technician · Dallas, TX" in page.inner_text("#user-results")
    screenshot(page, "people-admin-users")
    page.click("#user-results >> text=Dana Reyes")
    page.wait_for_selector("#standing")
    assert "Status\nActive" in page.inner_text("#standing").replace("\t", "\n")
    page.fill("#suspend-reason", "Insurance certificate under review")
    page.click("#suspend-form button[type=submit]")
    page.wait_for_selector("text=Dana Reyes is suspended and has been told why.")
    standing = page.inner_text("#standing")
    assert "Suspended" in standing and "Insurance certificate under review" in standing
    assert "technician.suspended" in page.inner_text("#standing-history")
    screenshot(page, "people-admin-suspended")
    page.click("text=Everything in the audit log about Dana Reyes")
    page.wait_for_selector("#audit-results")
    first = page.locator("#audit-results tbody tr").first.inner_text()
    assert "Ada Admin" in first and "technician.suspended" in first
    assert "status: active → suspended" in first
    screenshot(page, "people-audit-log")
