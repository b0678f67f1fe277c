"""Accessibility, in Chromium: axe-core (vendored in tests/vendor/, never served) finds no
serious or critical violation on the main pages of each role, at phone and desktop sizes,
over the demo data; every form control has a name; and a technician signs in and checks
in from /today with the keyboard alone."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Firm, TechnicianProfile, User
from marketplace.core import clock
from marketplace.demo.accounts import DEMO_PASSWORD
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.manage.models import Visit
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.manage.helpers import taken_work

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
BLOCKING = ("serious", "critical")

# Controls a person can reach that have no accessible name (axe's own rules cover the
# usual ones; this says so in one list, hidden inputs and the enhanced selects aside).
UNNAMED_CONTROLS = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (el.labels && el.labels.length) return true;
    if (el.getAttribute('title')) return true;
    if (el.tagName === 'BUTTON' || (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type)))
      return (el.textContent || el.value || '').trim().length > 0;
    return false;
  };
  return [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.type !== 'hidden' && !el.closest('[hidden], [aria-hidden=true]')
                    && el.getClientRects().length > 0 && !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}"""


def _axe_context(browser, size: str):
    """A browser context with axe-core in every page.

    The site's CSP forbids inline scripts, so `page.add_script_tag(content=...)` would be
    refused; `add_init_script` is injected by the browser itself (outside the page's CSP),
    so the pages are tested under the policy they really run with (no bypass_csp)."""
    context = browser.new_context(**SIZES[size])
    context.add_init_script(script=AXE)
    return context


def _violations(page) -> list[dict]:
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def _pages(world) -> dict[str, list[tuple[str, str]]]:
    """login -> [(name, path)]: the main pages of each role, on the demo data."""
    return {
        "owner@northstar.example": [
            ("firm home", "/firm"), ("assignments", "/assignments"),
            ("assignment", f"/assignments/{world['published']}"),
            ("engagement", f"/assignments/{world['published']}/engagement"),
            ("board", "/board"), ("kpis", "/kpis"),
            ("submitted work", f"/work/{world['submitted']}")],
        world["on_site"]: [
            ("technician home", "/tech"), ("today", "/today"),
            ("work", f"/work/{world['in_progress']}")],
        "tech001@onsite.example": [
            ("feed", "/feed"), ("offers", "/offers"), ("credentials", "/verify/credentials"),
            ("profile", "/profile")],
        "admin@onsite.example": [
            ("admin home", "/admin"), ("review queue", "/verify/review")],
    }


@pytest.fixture
def demo_world(app, ctx, live_server):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    northstar = db.session.scalar(select(Firm).where(Firm.slug == "northstar"))

    def one(status):
        return db.session.scalar(select(Assignment.id).where(
            Assignment.firm_id == northstar.id, Assignment.status == status)
            .order_by(Assignment.id).limit(1))
    in_progress = db.session.get(Assignment, one(AssignmentStatus.IN_PROGRESS))
    on_site = db.session.scalar(select(User.email).join(
        TechnicianProfile, TechnicianProfile.user_id == User.id).where(
        TechnicianProfile.id == in_progress.assignee_id))
    return {"published": one(AssignmentStatus.PUBLISHED), "submitted": one(
        AssignmentStatus.SUBMITTED), "in_progress": in_progress.id, "on_site": on_site}


@pytest.mark.parametrize("size", list(SIZES))
def test_main_pages_of_every_role_have_no_serious_violations_and_every_control_is_named(
        browser, live_server, demo_world, size):
    found: dict[str, list] = {}
    checked = 0
    for email, paths in _pages(demo_world).items():
        context = _axe_context(browser, size)
        page = context.new_page()
        login(page, live_server.url, email, DEMO_PASSWORD)
        page.wait_for_load_state()
        for name, path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (path, response.status)
            problems = _violations(page)
            unnamed = page.evaluate(UNNAMED_CONTROLS)
            screenshot(page, f"a11y-{size}-{name.replace(' ', '-')}")
            if problems or unnamed:
                found[f"{name} ({path})"] = problems + [{"unnamed": unnamed}]
            checked += 1
        context.close()
    assert checked == sum(len(p) for p in _pages(demo_world).values())
    assert not found, json.dumps(found, indent=1)


def test_a_technician_signs_in_and_checks_in_from_today_by_keyboard_alone(
        app, ctx, browser, live_server):
    start = clock.now().replace(microsecond=0) + timedelta(minutes=10)
    _, tech, job = taken_work(starts_at=start)
    clock.reset()
    email = tech.user.email
    context = browser.new_context(**PHONE, permissions=["geolocation"],
                                  geolocation={"latitude": job.lat + 0.0002,
                                               "longitude": job.lon, "accuracy": 10})
    page = context.new_page()
    page.goto(f"{live_server.url}/login")

    def tab_to(text: str, limit: int = 40) -> None:
        """Tab forward until the focused control says `text` (it may have it already)."""
        for _ in range(limit):
            focused = page.evaluate("""() => { const el = document.activeElement;
                if (!el || el === document.body) return '';
                return (el.labels && el.labels[0] ? el.labels[0].innerText : '') + '|' +
                       (el.innerText || el.value || '') }""")
            if text in focused.split("|")[0] or focused.split("|")[-1].strip() == text:
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {text!r}")

    tab_to("Email")
    page.keyboard.type(email)
    tab_to("Password")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/tech")
    page.goto(f"{live_server.url}/today")
    assert page.locator("#next-title").inner_text() == job.title
    tab_to("Check in")
    # The focus shows: the browser's ring is not taken away.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    screenshot(page, "a11y-keyboard-check-in-focused-phone")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=On site now")
    assert page.locator("button:has-text('Check out')").count() == 1
    screenshot(page, "a11y-keyboard-checked-in-phone")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Visit).where(
        Visit.assignment_id == job.id)) == 1
    assert db.session.get(Assignment, job.id).status == AssignmentStatus.IN_PROGRESS
    context.close()
