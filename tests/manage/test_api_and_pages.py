"""Manage over HTTP: the technician's app with Idempotency-Key, the firm's integration,
the phone pages and the firm's review page."""
from __future__ import annotations

import io
import json
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from marketplace.accounts.tokens import issue_api_token
from marketplace.core import clock
from marketplace.extensions import db
from marketplace.manage.models import ProofFile, TaskAnswer, Visit
from tests import pages
from tests.manage.helpers import at_site, taken_work


def _bearer(user) -> dict:
    _, raw = issue_api_token(user, "app")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def test_the_app_checks_in_answers_and_adds_proof_once_per_key(app, ctx, client):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    headers = {**_bearer(tech.user), "Idempotency-Key": "device-123-0001"}
    body = {"recorded_at": clock.now().isoformat(), "position": at_site(job)}
    first = client.post(f"/api/v1/work/{job.id}/check-in", json=body, headers=headers)
    again = client.post(f"/api/v1/work/{job.id}/check-in", json=body, headers=headers)
    assert first.status_code == 201 and first.json["result"]["geofence"] == "inside"
    assert again.status_code == 201 and again.json["duplicate"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["result"] == first.json["result"]
    headers["Idempotency-Key"] = "device-123-0002"
    answer = client.post(f"/api/v1/work/{job.id}/answers", headers=headers, json={
        "recorded_at": clock.now().isoformat(), "task": "level", "value": {"number": -61}})
    assert answer.status_code == 200 and answer.json["result"]["value"] == {"number": -61}
    headers["Idempotency-Key"] = "device-123-0003"
    added = client.post(f"/api/v1/work/{job.id}/proof", headers=headers, data={
        "action": json.dumps({"recorded_at": clock.now().isoformat(), "task": "photos"}),
        "file": (io.BytesIO(_png()), "rack.png")}, content_type="multipart/form-data")
    assert added.status_code == 201, added.json
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    assert db.session.scalar(select(func.count()).select_from(TaskAnswer)) == 1
    assert db.session.scalar(select(func.count()).select_from(ProofFile)) == 1
    work = client.get(f"/api/v1/work/{job.id}", headers=_bearer(owner)).json
    assert work["status"] == "in_progress" and work["arrival"] == "on_time"
    level = next(t for t in work["tasks"] if t["key"] == "level")
    assert level["value"] == {"number": -61} and level["done"] is True


def test_bad_bodies_get_field_errors_never_a_500(app, ctx, client):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    headers = {**_bearer(tech.user), "Idempotency-Key": "device-bad-0001"}
    for body in ({"recorded_at": 5}, {"recorded_at": "yesterday"}, {},
                 {"recorded_at": clock.now().isoformat(), "position": {"lat": "x"}},
                 {"recorded_at": clock.now().isoformat(),
                  "position": {"lat": 1e400, "lon": 0, "accuracy": 1}}):
        response = client.post(f"/api/v1/work/{job.id}/check-in", json=body, headers=headers)
        assert response.status_code in (400, 422), (body, response.json)
        assert response.json["error"]["message"]
        if response.status_code == 422:
            assert response.json["error"]["fields"]
    missing_key = client.post(f"/api/v1/work/{job.id}/check-in", headers=_bearer(tech.user),
                              json={"recorded_at": clock.now().isoformat()})
    assert missing_key.status_code == 422 and "key" in missing_key.json["error"]["fields"]


def test_the_phone_pages_say_what_is_next_and_the_firm_reviews(app, ctx, client, auth):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at - timedelta(minutes=20), freeze=True)
    tech.user.password_hash = owner.password_hash
    db.session.commit()
    auth.login(tech.user.email)
    today = client.get("/today").get_data(as_text=True)
    assert job.title in today and "Check in" in today and "Dallas, TX" in today
    assert "0 of 6 done" in today
    assert "geo:32.776700,-96.797000" in today
    posted = client.post(f"/work/{job.id}/check-in", data={
        "key": "form-key-00001", "recorded_at": clock.now().isoformat(),
        "lat": str(job.lat), "lon": str(job.lon), "accuracy": "12",
        "taken_at": clock.now().isoformat()})
    assert posted.status_code == 302
    clock.travel_to(clock.now() + timedelta(minutes=47), freeze=True)
    page = client.get(f"/work/{job.id}").get_data(as_text=True)
    assert "Visit 1" in page and "At the site" in page and "Check out" in page
    assert "On site\n0 h 47 min · checked in since" in pages.text(page)   # the open visit counts
    auth.logout()
    auth.login(owner.email)
    review = client.get(f"/work/{job.id}").get_data(as_text=True)
    assert tech.name in review and "At the site" in review and "On site now" in review
    assert "Time on site\n0 h 47 min so far, on site now" in pages.text(review)
    page = pages.text(review)
    assert "Not done" in page and "Optional, not answered" in page   # a skipped optional task
