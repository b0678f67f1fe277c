"""On a 390×844 phone: check in at the site, photo and signature tasks, then offline: an
answer and a check-out are queued and, back online, recorded once with their original
times; the firm approves on a desktop page."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.manage.models import AppliedAction, ProofFile, TaskAnswer, Visit
from tests import factories
from tests.browser import PHONE, login, screenshot
from tests.manage.helpers import taken_work

pytestmark = pytest.mark.browser

CHECKLIST = [
    {"key": "photo", "kind": "photo", "label": "Photo of the rack", "required": True,
     "min_count": 1},
    {"key": "sign", "kind": "signature", "label": "Customer sign-off", "required": True},
    {"key": "level", "kind": "number", "label": "Signal level", "required": True,
     "unit": "dBm", "min": -90.0, "max": -20.0},
]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def test_on_site_offline_and_approved(app, ctx, browser, live_server):
    start = clock.now().replace(microsecond=0) + timedelta(minutes=10)
    owner, tech, job = taken_work(checklist=CHECKLIST, starts_at=start)
    clock.reset()  # the phone's clock and the server's agree: real time from here
    job_id, site = job.id, (job.lat, job.lon)

    phone = browser.new_context(**PHONE, permissions=["geolocation"],
                                geolocation={"latitude": site[0] + 0.0003,
                                             "longitude": site[1], "accuracy": 12})
    page = phone.new_page()
    login(page, live_server.url, tech.user.email, factories.PASSWORD)
    page.goto(f"{live_server.url}/today")
    assert page.locator("#next-title").inner_text() == job.title
    assert "0 of 3 done" in page.locator(".next-job").inner_text()
    assert "CDT" in page.locator(".window").inner_text() or "CST" in \
        page.locator(".window").inner_text()
    screenshot(page, "manage-today-phone")
    page.click("button:has-text('Check in')")
    page.wait_for_selector("text=On site now")
    assert page.locator("button:has-text('Check out')").count() == 1

    page.goto(f"{live_server.url}/work/{job_id}")
    assert "At the site" in page.locator(".visits").inner_text()
    page.set_input_files("#task-photo input[type=file]",
                         files=[{"name": "rack.png", "mimeType": "image/png", "buffer": _png()}])
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.click("#task-photo button:has-text('Add photo')")
    page.wait_for_selector("#task-photo img")
    box = page.locator("#task-sign canvas").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 60)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 60 + (step % 3) * 20)
    page.mouse.up()
    page.fill("#task-sign input[name=signer_name]", "Pat Customer")
    page.click("#task-sign button:has-text('Save signature')")
    page.wait_for_selector("text=Signed by Pat Customer")
    screenshot(page, "manage-checklist-phone")

    # No signal in the basement.
    phone.set_offline(True)
    offline_from = clock.now()
    page.fill("#task-level input[name=number]", "-52")
    page.click("#task-level button:has-text('Save')")
    page.wait_for_selector("body[data-queued='1']")
    page.click("button:has-text('Check out')")
    page.wait_for_selector("body[data-queued='2']")
    status = page.locator("#sync-status").inner_text()
    assert "2 actions waiting to sync" in status and "offline" in status
    screenshot(page, "manage-offline-pending-phone")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaskAnswer)) == 0
    back_online = clock.now()
    phone.set_offline(False)
    page.wait_for_selector("body[data-queued='0']", timeout=15000)
    page.wait_for_selector("text=-52.0 dBm", timeout=15000)

    with app.app_context():
        answer = db.session.scalar(select(TaskAnswer).where(TaskAnswer.task_key == "level"))
        visit = db.session.scalar(select(Visit))
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
        assert db.session.scalar(select(func.count()).select_from(ProofFile)) == 2
        # Recorded once each, with the time they happened offline, not when they arrived.
        assert offline_from - timedelta(seconds=2) <= answer.answered_at <= back_online
        assert offline_from - timedelta(seconds=2) <= visit.checkout_at <= back_online
        assert answer.received_at >= back_online - timedelta(seconds=1)
        keys = db.session.scalars(select(AppliedAction.key)).all()
        assert len(keys) == len(set(keys)) == 5  # check-in, photo, signature, answer, out

    page.fill("textarea[name=note]", "Rack done, all ports tested.")
    page.click("button:has-text('Submit')")
    page.wait_for_selector("text=Submitted. The firm will review it.")

    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(desk, live_server.url, owner.email, factories.PASSWORD)
    desk.goto(f"{live_server.url}/work/{job_id}")
    review = desk.locator("main").inner_text()
    assert tech.name in review and "Signed by Pat Customer" in review
    assert "-52.0 dBm" in review and "Rack done, all ports tested." in review
    assert "$200.00" in review
    screenshot(desk, "manage-firm-review-desktop")
    desk.click("button:has-text('Approve $200.00')")
    desk.wait_for_selector("text=Approved.")
    with app.app_context():
        assert db.session.get(Assignment, job_id).status == AssignmentStatus.APPROVED
    assert errors == []
