"""Templates: edited and deleted from the templates page, checked like assignments."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find import assignment_templates as templates_svc
from marketplace.find import assignments as svc
from marketplace.find.models import Assignment, AssignmentTemplate
from tests import factories

FORM = {"name": "Cameras, two hours", "title": "Camera install", "address": "Austin, TX 78701",
        "requirement_set_id": 0, "skill_level": 2, "radius_km": 40, "schedule_kind": "window",
        "start_time": "13:00", "end_time": "15:00", "pricing": "fixed", "rate": "250",
        "payment_terms_days": 15, "checklist": "Mount\nAim"}


@pytest.fixture
def template(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(email="owner@example.com")
    a = svc.create_assignment(owner, {
        "title": "Camera install", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00", "rate": "200"})
    t = templates_svc.save_as_template(owner, a, "Cameras")
    db.session.commit()
    return t


def test_owner_edits_a_template_and_new_assignments_use_the_change(client, auth, template):
    auth.login("owner@example.com")
    page = client.get(f"/templates/{template.id}/edit").get_data(True)
    assert 'value="Cameras"' in page and 'value="09:00"' in page
    assert 'name="start_date"' not in page and "<script>" not in page
    r = client.post(f"/templates/{template.id}/edit", data=FORM)
    assert r.status_code == 302 and r.headers["Location"].endswith("/templates")
    db.session.expire_all()
    t = db.session.get(AssignmentTemplate, template.id)
    assert t.name == "Cameras, two hours"
    assert t.data["address"] == "Austin, TX 78701" and t.data["rate_cents"] == 25000
    assert (t.data["start_time"], t.data["end_time"]) == ("13:00", "15:00")
    assert [task["label"] for task in t.data["checklist"]] == ["Mount", "Aim"] and "start_date" not in t.data
    form = client.get(f"/assignments/new?template={template.id}").get_data(True)
    assert 'value="Austin, TX 78701"' in form and 'value="250.00"' in form


def test_a_template_edit_is_checked_like_an_assignment(client, auth, template):
    auth.login("owner@example.com")
    r = client.post(f"/templates/{template.id}/edit",
                    data={**FORM, "name": " ", "address": "the old barn"})
    body = r.get_data(True)
    assert r.status_code == 200
    assert "Name the template." in body and "could not find that address" in body
    backwards = client.post(f"/templates/{template.id}/edit", data={**FORM, "end_time": "12:00"})
    assert "The window must end after it starts." in backwards.get_data(True)
    db.session.expire_all()
    assert db.session.get(AssignmentTemplate, template.id).name == "Cameras"


def test_deleting_a_template_leaves_its_assignments(client, auth, template):
    auth.login("owner@example.com")
    listing = client.get("/templates").get_data(True)
    assert f"/templates/{template.id}/edit" in listing
    assert f"/templates/{template.id}/delete" in listing
    r = client.post(f"/templates/{template.id}/delete")
    assert r.status_code == 302
    assert "deleted" in client.get(r.headers["Location"]).get_data(True)
    assert db.session.query(AssignmentTemplate).count() == 0
    assert db.session.query(Assignment).count() == 1


def test_another_firm_cannot_edit_or_delete(client, auth, template):
    factories.firm_user(email="rival@example.com")
    auth.login("rival@example.com")
    assert client.get(f"/templates/{template.id}/edit").status_code == 404
    assert client.post(f"/templates/{template.id}/delete").status_code == 404
    assert db.session.query(AssignmentTemplate).count() == 1


def test_create_template_without_an_assignment(ctx, template):
    owner = db.session.get(AssignmentTemplate, template.id).created_by_id
    from marketplace.accounts.models import User
    t = templates_svc.create_template(db.session.get(User, owner), "Blank site survey", {
        "title": "Site survey", "address": "Denver, CO", "pricing": "hourly",
        "hourly_rate": "60", "max_hours": 3, "start_time": "08:00", "end_time": "10:00"})
    assert t.data["hourly_rate_cents"] == 6000 and t.data["schedule_kind"] == "window"
