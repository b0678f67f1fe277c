"""The assignment edit page saves only onto the version the editor opened."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find import assignments as svc
from marketplace.find.models import Assignment
from tests import factories


@pytest.fixture
def job(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    a = svc.create_assignment(owner, {
        "title": "Camera install", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00", "rate": "200"})
    db.session.commit()
    return owner, a.id


def _form(page: str) -> dict:
    """The edit form as a browser would send it back (text inputs and hidden fields)."""
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    fields |= {"requirement_set_id": 0, "skill_level": 2, "schedule_kind": "window",
               "pricing": "fixed"}
    return fields


def test_a_stale_edit_is_refused_and_keeps_what_was_typed(client, auth, job):
    owner, job_id = job
    auth.login("owner@example.com")
    page = client.get(f"/assignments/{job_id}/edit").get_data(True)
    sent = _form(page)
    assert sent["version"] == "1"
    # Meanwhile a colleague moves the window (a new version).
    data = svc.form_data(db.session.get(Assignment, job_id)) | {"start_time": "13:00",
                                                                "end_time": "15:00"}
    svc.update_assignment(owner, db.session.get(Assignment, job_id), data)
    db.session.commit()
    r = client.post(f"/assignments/{job_id}/edit", data=sent | {"title": "Camera install, lobby"})
    body = r.get_data(True)
    assert r.status_code == 200
    assert "Someone changed this assignment after you opened it" in body
    assert 'value="Camera install, lobby"' in body          # what was typed is kept
    db.session.expire_all()
    kept = db.session.get(Assignment, job_id)
    assert kept.title == "Camera install" and kept.version == 2   # the colleague's edit stands
    # The page now carries the current version: saving again applies the typed changes.
    again = _form(body)
    assert again["version"] == "2"
    r = client.post(f"/assignments/{job_id}/edit", data=again)
    assert r.status_code == 302, r.get_data(True)
    db.session.expire_all()
    assert db.session.get(Assignment, job_id).title == "Camera install, lobby"


def test_an_edit_from_the_current_version_saves(client, auth, job):
    _, job_id = job
    auth.login("owner@example.com")
    sent = _form(client.get(f"/assignments/{job_id}/edit").get_data(True))
    r = client.post(f"/assignments/{job_id}/edit", data=sent | {"title": "Camera install B"})
    assert r.status_code == 302, r.get_data(True)
    db.session.expire_all()
    assert db.session.get(Assignment, job_id).title == "Camera install B"
