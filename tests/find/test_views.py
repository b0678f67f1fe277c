"""Find's pages: create from a template, see matches with explanations, the phone feed."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.find import assignment_templates as templates_svc
from marketplace.find import assignments as svc
from marketplace.find.matching import rebuild_index
from marketplace.find.models import Assignment
from tests import factories
from tests.find.helpers import DALLAS, tech_at


@pytest.fixture
def world(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    skill = factories.SkillFactory(name="CCTV cameras")
    tech = tech_at(DALLAS[0] + 0.05, DALLAS[1], skills={skill.id: 3}, email="tech@example.com",
                   name="Tess Tech")
    a = svc.create_assignment(owner, {
        "title": "Camera install", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00", "rate": "200", "skills": {skill.id: 2}})
    template = templates_svc.save_as_template(owner, a, "Cameras")
    rebuild_index()
    db.session.commit()
    return {"owner": owner, "skill": skill, "tech": tech, "template": template}


def test_dispatcher_creates_from_a_template_and_sees_matches_with_explanations(client, auth,
                                                                               world):
    auth.login("owner@example.com")
    page = client.get(f"/assignments/new?template={world['template'].id}").get_data(True)
    assert 'value="Camera install"' in page and 'value="09:00"' in page
    r = client.post("/assignments/new", data={
        "title": "Camera install", "address": "Dallas, TX 75201", "skills": [world["skill"].id],
        "skill_level": 2, "requirement_set_id": 0, "radius_km": 50, "schedule_kind": "window",
        "start_date": "2030-06-10", "start_time": "09:00", "end_time": "11:00",
        "pricing": "fixed", "rate": "200", "payment_terms_days": 30, "publish": "y"})
    assert r.status_code == 302, r.get_data(True)
    detail = client.get(r.headers["Location"]).get_data(True)
    assert "Tess Tech" in detail and "1 of 1 skills" in detail
    assert "<script>" not in detail and 'style="' not in detail
    listing = client.get("/assignments?status=published").get_data(True)
    assert "Camera install" in listing


def test_form_errors_keep_the_input(client, auth, world):
    auth.login("owner@example.com")
    r = client.post("/assignments/new", data={
        "title": "Odd site", "address": "the old barn", "requirement_set_id": 0,
        "skill_level": 2, "schedule_kind": "window", "pricing": "fixed",
        "start_date": "2030-06-10", "start_time": "09:00", "end_time": "11:00", "rate": "10"})
    body = r.get_data(True)
    assert r.status_code == 200 and "could not find that address" in body
    assert 'value="Odd site"' in body
    assert db.session.query(Assignment).count() == 1


def test_technician_sees_published_work_in_the_feed(client, auth, world):
    a = db.session.query(Assignment).one()
    svc.publish_assignment(world["owner"], a)
    db.session.commit()
    auth.login("tech@example.com")
    body = client.get("/feed").get_data(True)
    assert "Camera install" in body and "$200.00" in body and world["owner"].firm.name in body


def test_csv_upload_page_reports_bad_lines(client, auth, world):
    auth.login("owner@example.com")
    data = ("title,address,date,start,end,rate\n"
            "Good,\"Austin, TX\",2030-06-04,09:00,10:00,90\nBad,nowhere,2030-06-04,09:00,10:00,90\n")
    r = client.post("/assignments/import", data={"file": (io.BytesIO(data.encode()), "a.csv")},
                    content_type="multipart/form-data")
    body = r.get_data(True)
    assert "1 created" in body and "<td data-label=\"Line\">3</td>" in body


def test_pool_pages_add_a_member(client, auth, world):
    auth.login("owner@example.com")
    r = client.post("/pools", data={"name": "Dallas LV", "visibility": "private",
                                    "requirement_set_id": 0})
    assert r.status_code == 302
    r = client.post(r.headers["Location"], data={"technician_id": world["tech"].id,
                                                 "action": "invite"})
    assert r.status_code == 302
    assert "Tess Tech" in client.get(r.headers["Location"]).get_data(True)
