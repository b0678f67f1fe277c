"""Find's JSON API: assignments, templates, matches, pools and the feed."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.accounts import tokens
from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.find.matching import rebuild_index
from tests import factories
from tests.find.helpers import DALLAS, tech_at


def _headers(user):
    raw = tokens.issue_api_token(user, "t")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def setup(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER)
    skill = factories.SkillFactory()
    tech = tech_at(DALLAS[0] + 0.05, DALLAS[1], skills={skill.id: 3})
    rebuild_index()
    db.session.commit()
    return owner, skill, tech


def test_firm_creates_publishes_and_sees_matches_and_the_technician_sees_it_in_the_feed(
        client, setup):
    owner, skill, tech = setup
    h = _headers(owner)
    r = client.post("/api/v1/assignments", headers=h, json={
        "title": "Rack and stack", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00", "pricing": "fixed", "rate": "180",
        "skills": {str(skill.id): 2}, "publish": True})
    assert r.status_code == 201, r.get_json()
    a = r.get_json()
    assert a["status"] == "published" and a["budget_cents"] == 18000
    r = client.get(f"/api/v1/assignments/{a['id']}/matches", headers=h)
    assert r.status_code == 200
    [m] = r.get_json()["data"]
    assert m["technician_id"] == tech.id and "1 of 1 skills" in m["explanation"]
    feed = client.get("/api/v1/feed", headers=_headers(tech.user)).get_json()["data"]
    assert [f["id"] for f in feed] == [a["id"]] and feed[0]["firm"] == owner.firm.name


def test_invalid_assignment_answers_422_with_field_errors(client, setup):
    owner, _, _ = setup
    r = client.post("/api/v1/assignments", headers=_headers(owner),
                    json={"title": "", "address": "nowhere known"})
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert {"title", "address", "start_date"} <= set(fields)


def test_template_round_trip_and_csv_import_report(client, setup):
    owner, skill, _ = setup
    h = _headers(owner)
    a = client.post("/api/v1/assignments", headers=h, json={
        "title": "Kiosk", "address": "Austin, TX", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "10:00", "rate": "90"}).get_json()
    t = client.post("/api/v1/templates", headers=h,
                    json={"assignment_id": a["id"], "name": "Kiosk"}).get_json()
    got = client.get(f"/api/v1/templates/{t['id']}", headers=h).get_json()
    assert got["prefill"]["title"] == "Kiosk" and got["prefill"]["start_date"] == ""
    csv = ("title,address,date,start,end,rate\n"
           "A,\"Austin, TX\",2030-06-04,09:00,10:00,90\nB,nowhere,2030-06-04,09:00,10:00,90\n")
    r = client.post("/api/v1/assignments/import", headers=h, json={"csv": csv}).get_json()
    assert [c["title"] for c in r["created"]] == ["A"] and r["errors"][0]["line"] == 3


def test_new_from_template_and_duplicate_over_the_api(client, setup):
    """Everything but the date comes from the source; what is sent goes on top."""
    owner, skill, _ = setup
    h = _headers(owner)
    a = client.post("/api/v1/assignments", headers=h, json={
        "title": "Kiosk refresh", "address": "Austin, TX", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "10:30", "rate": "90", "skills": {str(skill.id): 2},
        "checklist": ["Photo of the old unit"]}).get_json()
    t = client.post("/api/v1/templates", headers=h,
                    json={"assignment_id": a["id"], "name": "Kiosk"}).get_json()

    r = client.post("/api/v1/assignments", headers=h,
                    json={"template_id": t["id"], "start_date": "2030-06-10"})
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["id"] != a["id"] and made["title"] == "Kiosk refresh"
    assert made["rate_cents"] == 9000 and [t["label"] for t in made["checklist"]] == ["Photo of the old unit"]
    assert made["starts_at"].startswith("2030-06-10")

    r = client.post("/api/v1/assignments", headers=h, json={
        "duplicate_of": a["id"], "start_date": "2030-06-11", "rate": "120", "title": "Again"})
    assert r.status_code == 201, r.get_json()
    dup = r.get_json()
    assert dup["title"] == "Again" and dup["rate_cents"] == 12000
    assert dup["skills"] == made["skills"] and dup["starts_at"].startswith("2030-06-11")

    # The date is never carried over; bad or doubled sources are field errors.
    r = client.post("/api/v1/assignments", headers=h, json={"template_id": t["id"]})
    assert r.status_code == 422 and "start_date" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/assignments", headers=h,
                    json={"template_id": "x", "start_date": "2030-06-10"})
    assert r.status_code == 422 and "template_id" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/assignments", headers=h, json={
        "template_id": t["id"], "duplicate_of": a["id"], "start_date": "2030-06-10"})
    assert r.status_code == 422 and "duplicate_of" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/assignments", headers=h,
                    json={"duplicate_of": 999999, "start_date": "2030-06-10"})
    assert r.status_code == 404


def test_pools_over_the_api(client, setup):
    owner, _, tech = setup
    h = _headers(owner)
    p = client.post("/api/v1/pools", headers=h,
                    json={"name": "Dallas LV", "visibility": "public"}).get_json()
    r = client.post(f"/api/v1/pools/{p['id']}/join", headers=_headers(tech.user))
    assert r.get_json()["status"] == "applied"
    r = client.post(f"/api/v1/pools/{p['id']}/members", headers=h,
                    json={"technician_id": tech.id, "action": "approve"})
    assert r.get_json()["status"] == "active"
    members = client.get(f"/api/v1/pools/{p['id']}", headers=h).get_json()["members"]
    assert [m["technician_id"] for m in members] == [tech.id]


def test_payment_terms_are_the_firms_not_an_assignment_field(client, auth, setup):
    """When a technician is paid is the firm's pay setting; an assignment field that did
    nothing (and read "net 30" while technicians were paid on approval) is gone from the
    form, the page and the answers, and still accepted from older clients."""
    owner, skill, tech = setup
    r = client.post("/api/v1/assignments", headers=_headers(owner), json={
        "title": "Rack and stack", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00", "pricing": "fixed", "rate": "180",
        "payment_terms_days": 30})
    assert r.status_code == 201, r.get_json()
    assert "payment_terms_days" not in r.get_json()
    auth.login(owner.email, factories.PASSWORD)
    form = client.get("/assignments/new").get_data(as_text=True)
    assert "Payment terms" not in form and 'name="payment_terms_days"' not in form
    page = client.get(f"/assignments/{r.get_json()['id']}").get_data(as_text=True)
    assert "budget $180.00" in page and "net 30" not in page
