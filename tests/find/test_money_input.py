"""Assignment amounts over the API: whole cents within the bound, or a 422 naming the field."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from marketplace.accounts import tokens
from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.core.money import MAX_CENTS
from marketplace.extensions import db
from marketplace.find.models import Assignment
from tests import factories

BASE = {"title": "Rack and stack", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "09:00", "end_time": "11:00"}
FIXED = {**BASE, "pricing": "fixed", "rate_cents": 18000}
HOURLY = {**BASE, "pricing": "hourly", "hourly_rate_cents": 6000, "max_hours": 4}
BLENDED = {**BASE, "pricing": "blended", "rate_cents": 20000, "hourly_rate_cents": 6000,
           "fixed_hours": 2, "max_hours": 4}
BAD = [True, False, 10**30, MAX_CENTS + 1, -1, -15_000_000, 150.5, "18000"]


def _headers(user):
    raw = tokens.issue_api_token(user, "t")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def owner(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=UTC), freeze=True)
    return factories.firm_user(Role.OWNER)


def _count():
    return db.session.scalar(select(func.count()).select_from(Assignment))


@pytest.mark.parametrize("body,field", [(FIXED, "rate_cents"), (BLENDED, "rate_cents"),
                                        (HOURLY, "hourly_rate_cents"),
                                        (BLENDED, "hourly_rate_cents")])
@pytest.mark.parametrize("value", BAD)
def test_create_refuses_bad_amounts_naming_the_field(client, owner, body, field, value):
    r = client.post("/api/v1/assignments", headers=_headers(owner), json={**body, field: value})
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["fields"]
    assert _count() == 0


@pytest.mark.parametrize("field", ["rate_cents", "hourly_rate_cents"])
@pytest.mark.parametrize("value", [True, 10**30, -1])
def test_update_refuses_bad_amounts_naming_the_field(client, owner, field, value):
    h = _headers(owner)
    created = client.post("/api/v1/assignments", headers=h, json=BLENDED)
    assert created.status_code == 201, created.get_json()
    a = created.get_json()
    r = client.put(f"/api/v1/assignments/{a['id']}", headers=h,
                   json={**BLENDED, field: value, "version": a["version"]})
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["fields"]
    after = client.get(f"/api/v1/assignments/{a['id']}", headers=h).get_json()
    assert (after["rate_cents"], after["hourly_rate_cents"], after["budget_cents"]) == (
        20000, 6000, 32000)


def test_an_hourly_budget_above_the_bound_is_refused_on_the_hourly_rate(client, owner):
    r = client.post("/api/v1/assignments", headers=_headers(owner),
                    json={**HOURLY, "hourly_rate_cents": MAX_CENTS, "max_hours": 2})
    assert r.status_code == 422
    assert "hourly_rate_cents" in r.get_json()["error"]["fields"]


def test_an_hourly_budget_is_rounded_half_up_to_the_cent(client, owner):
    r = client.post("/api/v1/assignments", headers=_headers(owner),
                    json={**HOURLY, "hourly_rate_cents": 2475, "max_hours": 1.5})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["budget_cents"] == 3713


def test_a_price_typed_in_dollars_still_works_and_is_bounded(client, owner):
    h = _headers(owner)
    ok = client.post("/api/v1/assignments", headers=h, json={**BASE, "rate": "1,234.56"})
    assert ok.status_code == 201 and ok.get_json()["budget_cents"] == 123456
    big = client.post("/api/v1/assignments", headers=h, json={**BASE, "rate": "100000.01"})
    assert big.status_code == 422 and "rate" in big.get_json()["error"]["fields"]


def test_a_dispatcher_cannot_slip_a_blended_budget_past_the_limit(client, owner):
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    dispatcher.membership.budget_limit_cents = 150_000
    db.session.commit()
    h = _headers(dispatcher)
    # $150,000 fixed part "cancelled out" by a negative hourly rate.
    sneaky = {**BLENDED, "rate_cents": 15_000_000, "hourly_rate_cents": -14_900_000,
              "fixed_hours": 1, "max_hours": 2, "publish": True}
    r = client.post("/api/v1/assignments", headers=h, json=sneaky)
    assert r.status_code == 422
    assert {"rate_cents", "hourly_rate_cents"} <= set(r.get_json()["error"]["fields"])
    # Within the bound, the real blended total is what the limit sees.
    over = {**BLENDED, "rate_cents": 140_000, "hourly_rate_cents": 6000, "fixed_hours": 1,
            "max_hours": 3, "publish": True}  # $1,400 + 2 h x $60 = $1,520
    r = client.post("/api/v1/assignments", headers=h, json=over)
    assert r.status_code in (403, 422), r.get_json()
    assert _count() == 0
    within = {**over, "max_hours": 2}  # $1,460
    r = client.post("/api/v1/assignments", headers=h, json=within)
    assert r.status_code == 201 and r.get_json()["budget_cents"] == 146_000
