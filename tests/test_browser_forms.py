"""In Chromium on a 390×844 phone: the technician's profile is short, and a skill is chosen
by typing part of its name, by keyboard alone; the same picker on the assignment form; and
both forms still work with scripts off."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import TechnicianSkill
from marketplace.core import clock
from marketplace.demo.catalog import SKILLS
from marketplace.extensions import db
from marketplace.find.models import Assignment
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.test_profile_skills import catalog

pytestmark = pytest.mark.browser

# The most skills a demo technician holds (marketplace/demo/accounts.py draws 2 to 6).
DEMO_MAX_SKILLS = 6
HELD = ["cat6-termination", "structured-cabling", "cctv", "desktop-support", "wifi-install",
        "pos-install"]


def _technician_with_demo_skills():
    skills = catalog()
    user = factories.technician(name="Tia Tester")
    for slug in HELD[:DEMO_MAX_SKILLS]:
        db.session.add(TechnicianSkill(technician_id=user.technician.id,
                                       skill_id=skills[slug].id, level=2))
    db.session.commit()
    return user, skills


def _focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def test_profile_is_short_on_a_phone_and_a_skill_is_added_by_typing_with_the_keyboard(
        app, ctx, browser, live_server):
    user, skills = _technician_with_demo_skills()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, user.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/profile")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2000, height
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    rows = page.locator("#my-skills > li")
    assert rows.count() == DEMO_MAX_SKILLS
    assert page.locator("select").count() < 10          # not one per skill in the catalog
    screenshot(page, "forms-profile-phone")

    # Keyboard only: from the last skill's level, Tab reaches the search box.
    page.locator("#my-skills select").last.focus()
    page.keyboard.press("Tab")
    assert _focused(page) == "add_skill-search"
    page.keyboard.type("splic")
    listbox = page.locator("#add_skill-list")
    assert listbox.is_visible()
    assert [t.split("\n")[0] for t in listbox.locator("[role=option]").all_inner_texts()] == \
        ["Fiber fusion splicing"]
    assert "1 skill matches." in page.inner_text("#skills [role=status]")
    screenshot(page, "forms-profile-picker-open-phone")
    page.keyboard.press("Enter")
    assert rows.count() == DEMO_MAX_SKILLS + 1
    assert "Fiber fusion splicing" in rows.last.inner_text()
    assert _focused(page) == f"skill-{skills['fiber-splicing'].id}"   # its level, next
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.input_value(f"#skill-{skills['fiber-splicing'].id}") == "4"
    # Another one by arrows: "fiber" matches two; the second is OTDR testing.
    page.keyboard.press("Tab")
    assert _focused(page) == "add_skill-search"
    page.keyboard.type("fiber")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert "Fiber OTDR testing" in rows.last.inner_text()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Save profile"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Profile saved.")
    screenshot(page, "forms-profile-saved-phone")

    db.session.expire_all()
    held = {s.skill.slug: s.level for s in user.technician.skills}
    assert held == {**{slug: 2 for slug in HELD}, "fiber-splicing": 4, "fiber-testing": 2}
    mine = page.inner_text("#my-skills")
    assert "Fiber fusion splicing" in mine and "Fiber OTDR testing" in mine
    # A held skill is not offered again.
    assert page.locator(f"#add_skill option[value='{skills['fiber-splicing'].id}']").count() == 0
    context.close()


def test_profile_adds_a_skill_with_scripts_off(app, ctx, browser, live_server):
    user, skills = _technician_with_demo_skills()
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    login(page, live_server.url, user.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/profile")
    assert page.locator("#add_skill").is_visible()
    page.select_option("#add_skill", label="Fiber fusion splicing")
    page.select_option("#add_level", label="Advanced")
    page.select_option(f"#skill-{skills['cctv'].id}", label="Remove this skill")
    screenshot(page, "forms-profile-no-script-phone")
    page.click("button:has-text('Save profile')")
    page.wait_for_selector("text=Profile saved.")
    db.session.expire_all()
    held = {s.skill.slug: s.level for s in user.technician.skills}
    assert held["fiber-splicing"] == 3 and "cctv" not in held
    assert "Fiber fusion splicing" in page.inner_text("#my-skills")
    context.close()


def test_assignment_form_picks_skills_by_typing_and_removes_one_by_keyboard(
        app, ctx, browser, live_server):
    catalog()
    owner = factories.firm_user()
    db.session.commit()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/assignments/new")
    assert not page.locator("#skills").is_visible()         # the list box is enhanced
    assert page.get_by_role("combobox", name="Required skills").get_attribute("id") == \
        "skills-search"                                      # the label names the search box
    page.fill("#title", "Install 4 cameras")
    page.fill("#address", "Dallas, TX 75201")
    page.fill("#start_date", (clock.today() + timedelta(days=7)).isoformat())
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "11:00")
    page.fill("#rate", "240")
    search = page.locator("#skills-search")
    search.focus()
    page.keyboard.type("camera")
    page.keyboard.press("Enter")
    page.keyboard.type("otdr")
    page.keyboard.press("Enter")
    page.keyboard.type("sign")
    page.keyboard.press("Enter")
    chips = page.locator(".picker-chosen li")
    assert sorted(c.split("\n")[0].strip() for c in chips.all_inner_texts()) == \
        ["CCTV / IP cameras", "Digital signage", "Fiber OTDR testing"]
    screenshot(page, "forms-assignment-picker-phone")
    page.get_by_role("button", name="Remove Digital signage").focus()
    page.keyboard.press("Enter")
    assert chips.count() == 2
    assert _focused(page) == "skills-search"
    page.click("button:has-text('Create')")
    page.wait_for_selector("text=Draft saved.")
    db.session.expire_all()
    made = db.session.scalars(select(Assignment)).one()
    assert {_skill(s.skill_id).name for s in made.skills} == {"CCTV / IP cameras",
                                                              "Fiber OTDR testing"}
    context.close()


def _skill(skill_id):
    from marketplace.accounts.models import Skill
    return db.session.get(Skill, skill_id)


def test_assignment_form_skills_work_with_scripts_off(app, ctx, browser, live_server):
    catalog()
    owner = factories.firm_user()
    db.session.commit()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/assignments/new")
    assert page.locator("select#skills optgroup").count() == len({c for _, _, c, _ in SKILLS})
    page.fill("#title", "Terminate drops")
    page.fill("#address", "Dallas, TX 75201")
    page.fill("#start_date", (clock.today() + timedelta(days=7)).isoformat())
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "11:00")
    page.fill("#rate", "240")
    page.select_option("#skills", label=["Cat5e/Cat6 termination", "Structured cabling"])
    page.click("button:has-text('Create')")
    page.wait_for_selector("text=Draft saved.")
    db.session.expire_all()
    made = db.session.scalars(select(Assignment)).one()
    assert {_skill(s.skill_id).name for s in made.skills} == {"Cat5e/Cat6 termination",
                                                              "Structured cabling"}
    context.close()


def test_csv_upload_says_working_with_the_row_count_then_what_it_made(
        app, ctx, browser, live_server):
    owner = factories.firm_user()
    db.session.commit()
    day = clock.today() + timedelta(days=10)
    rows = "".join(f"Kiosk {i},\"Austin, TX\",{day.isoformat()},{8 + i % 9:02d}:00,"
                   f"{9 + i % 9:02d}:00,90\n" for i in range(120))
    data = ("title,address,date,start,end,rate\n" + rows).encode()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, owner.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/assignments/import")
    page.set_input_files("#file", files=[{"name": "sites.csv", "mimeType": "text/csv",
                                         "buffer": data}])
    page.wait_for_selector("text=sites.csv: 120 rows.")
    # Look at the page as the upload starts: a listener after the page's own stops this
    # first submission from leaving (as a slow network would keep the page up).
    page.evaluate("""() => document.querySelector('form[data-working]').addEventListener(
        'submit', (event) => event.preventDefault(), {once: true})""")
    page.focus("#file")
    page.keyboard.press("Tab")                 # from the file box: the checkboxes, then Upload
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Upload"
    page.keyboard.press("Enter")
    status = page.locator("#import-status")
    status.wait_for(state="visible")
    assert "Working… checking and creating, row by row (sites.csv: 120 rows)." in \
        status.inner_text()
    assert page.locator("form[data-working] button[type=submit]").inner_text() == "Working…"
    screenshot(page, "forms-csv-working-phone")
    page.evaluate("document.querySelector('form[data-working]').requestSubmit()")
    page.wait_for_selector("#import-result", timeout=120_000)
    result = page.inner_text("#import-result")
    assert "120 rows read: 120 created, 0 need fixing, 0 skipped as duplicates." in result
    screenshot(page, "forms-csv-result-phone")
    context.close()
