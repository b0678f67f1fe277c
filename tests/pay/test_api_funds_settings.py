"""A firm's funds and pay settings over /api/v1: the Funds page's figures, the Payments
settings page's rule (and who may change it), bad bodies refused with the error JSON."""
from __future__ import annotations

from datetime import timedelta

import pytest
from marketplace.accounts import tokens
from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.core.money import format_money
from marketplace.extensions import db
from marketplace.pay import funding, ledger, payout_dates, reserves, settings
from marketplace.pay.ledger import Kind
from tests import factories
from tests.find.helpers import DALLAS, START, tech_at
from tests.pay.books_helpers import draft_work, fund, route, taken
from tests.tenancy import pay_rails

SETTINGS_URL = "/api/v1/pay/settings"


def _headers(user) -> dict:
    raw = tokens.issue_api_token(user, "pay")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _pending(firm_id: int, cents: int) -> None:
    """A bank top-up still processing: the clearing account to the firm's pending funds."""
    ledger.move(f"test-pending:{firm_id}:{cents}", memo="Top-up", ref=f"firm:{firm_id}",
                source=ledger.account(Kind.PLATFORM_CLEARING, None),
                target=ledger.account(Kind.FIRM_PENDING, firm_id), amount_cents=cents)
    db.session.commit()


@pytest.fixture
def on_credit(pay_app, ctx):
    """A firm with 100.00 available, 25.00 pending and net 30 terms of 500.00, whose routed
    200.00 assignment took the 100.00 and 100.00 of credit."""
    clock.travel_to(START - timedelta(days=3))
    owner, job = draft_work(budget=20000)
    firm_id = owner.firm.id
    fund(firm_id, 10000)
    _pending(firm_id, 2500)
    funding.grant_terms(factories.admin(), firm_id, days=30, credit_limit_cents=50000)
    db.session.commit()
    route(owner, job, tech_at(*DALLAS))
    return owner, job


def test_funds_are_the_funds_page_figures(on_credit, client, auth):
    owner, _ = on_credit
    body = client.get("/api/v1/pay/funds", headers=_headers(owner)).get_json()
    assert body == {"available_cents": 0, "pending_cents": 2500, "reserved_cents": 20000,
                    "credit_limit_cents": 50000, "credit_used_cents": 10000,
                    "credit_room_cents": 40000, "spendable_cents": 40000,
                    "net_terms_days": 30, "currency": "USD"}
    funds = reserves.funds_of(owner.firm.id)
    assert body["credit_room_cents"] == funds.credit_room_cents
    assert body["spendable_cents"] == funds.spendable_cents
    auth.login(owner.email)
    page = client.get("/pay/funds").get_data(as_text=True)
    for stat, field in (("available", "available_cents"), ("pending", "pending_cents"),
                        ("reserved", "reserved_cents"), ("credit", "credit_room_cents")):
        shown = page.split(f'id="funds-{stat}"')[1][:200]
        assert format_money(body[field], "USD") in shown, stat


def test_funds_without_terms_and_for_every_member(pay_app, ctx, client):
    owner = factories.firm_user()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    db.session.commit()
    fund(owner.firm.id, 12345)
    body = client.get("/api/v1/pay/funds", headers=_headers(dispatcher)).get_json()
    assert (body["available_cents"], body["credit_limit_cents"], body["net_terms_days"]) == (
        12345, 0, None)


def test_each_firm_sees_only_its_own_funds_and_settings(on_credit, client):
    owner_a, _ = on_credit
    settings.update_settings(owner_a, owner_a.firm.id, auto_approve_days=13,
                             payment_terms_days=30)
    db.session.commit()
    owner_b = factories.firm_user()
    db.session.commit()
    headers = _headers(owner_b)
    funds = client.get("/api/v1/pay/funds", headers=headers).get_json()
    assert funds["pending_cents"] == funds["reserved_cents"] == funds["credit_limit_cents"] == 0
    assert funds["net_terms_days"] is None
    assert client.get(SETTINGS_URL, headers=headers).get_json() == {
        "auto_approve_days": settings.DEFAULT_AUTO_APPROVE_DAYS, "payment_terms_days": 0,
        "payment_terms_label": "Immediately on approval"}


def test_a_put_moves_the_payout_date_the_offer_promises(pay_app, ctx, client):
    owner, tech, job = taken()
    headers = _headers(owner)
    before = payout_dates.promised_date(job)
    assert client.get(SETTINGS_URL, headers=headers).get_json()["payment_terms_days"] == 0
    r = client.put(SETTINGS_URL, headers=headers,
                   json={"auto_approve_days": 10, "payment_terms_days": 15})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"auto_approve_days": 10, "payment_terms_days": 15,
                            "payment_terms_label": "15 days after approval"}
    db.session.rollback()   # the test's own transaction read the settings before: end it
    assert payout_dates.promised_date(job) == before + timedelta(days=(10 - 7) + 15)
    assert client.get(SETTINGS_URL, headers=headers).get_json()["auto_approve_days"] == 10
    assert settings.for_firm(owner.firm.id) == settings.PaySettings(10, 15)


BAD_BODIES = [
    {},
    {"auto_approve_days": 7},
    {"auto_approve_days": None, "payment_terms_days": 7},
    {"auto_approve_days": 7, "payment_terms_days": None},
    {"auto_approve_days": "7", "payment_terms_days": 7},
    {"auto_approve_days": True, "payment_terms_days": 7},
    {"auto_approve_days": 7.5, "payment_terms_days": 7},
    {"auto_approve_days": 10**40, "payment_terms_days": 7},
    {"auto_approve_days": 7, "payment_terms_days": -10**40},
    {"auto_approve_days": 2, "payment_terms_days": 7},
    {"auto_approve_days": 15, "payment_terms_days": 7},
    {"auto_approve_days": 7, "payment_terms_days": 8},
    {"auto_approve_days": 7, "payment_terms_days": [7]},
    {"auto_approve_days": {"days": 7}, "payment_terms_days": 7},
    {"auto_approve_days": 7, "payment_terms_days": 7, "platform_fee_bps": 0},
    None, [], "7", 7,
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_bodies_are_refused_with_the_error_json(pay_app, ctx, client, body):
    owner = factories.firm_user()
    db.session.commit()
    r = client.put(SETTINGS_URL, headers=_headers(owner), json=body)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    error = r.get_json()["error"]
    assert error["code"] == "validation_failed" and error["message"]
    db.session.expire_all()
    assert settings.for_firm(owner.firm.id) == settings.PaySettings()


def test_a_body_that_is_not_json_is_a_400(pay_app, ctx, client):
    owner = factories.firm_user()
    db.session.commit()
    for raw in ("{", '{"auto_approve_days": NaN, "payment_terms_days": 7}'):
        r = client.put(SETTINGS_URL, headers={**_headers(owner),
                                              "Content-Type": "application/json"}, data=raw)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"


def test_technicians_are_refused_and_dispatchers_only_read(pay_app, ctx, client):
    owner = factories.firm_user()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    tech = factories.technician()
    db.session.commit()
    good = {"auto_approve_days": 5, "payment_terms_days": 7}
    headers = _headers(tech)
    for method, url in (("GET", "/api/v1/pay/funds"), ("GET", SETTINGS_URL),
                        ("PUT", SETTINGS_URL)):
        r = client.open(url, method=method, headers=headers,
                        json=good if method == "PUT" else None)
        assert r.status_code == 403 and r.get_json()["error"]["code"], (method, url)
    headers = _headers(dispatcher)
    assert client.get(SETTINGS_URL, headers=headers).status_code == 200
    assert client.put(SETTINGS_URL, headers=headers, json=good).status_code == 403
    db.session.expire_all()
    assert settings.for_firm(owner.firm.id) == settings.PaySettings()


def test_the_tenancy_walkers_firm_a_stays_its_own(pay_app, ctx, client):
    """Firm A as tests/tenancy/pay_rails.py builds it (net terms, settings 13 and 30 days):
    another firm reads its own funds and settings, a technician is refused."""
    owner_a = factories.firm_user()
    db.session.commit()
    world = {"marker": "ZZTENANT", "owner_a": owner_a, "firm_a": owner_a.firm,
             "tech_a": factories.technician()}
    pay_rails.build(world)
    assert client.get(SETTINGS_URL, headers=_headers(owner_a)).get_json()[
        "auto_approve_days"] == 13
    owner_b, tech_b = factories.firm_user(), factories.technician()
    db.session.commit()
    headers = _headers(owner_b)
    funds = client.get("/api/v1/pay/funds", headers=headers).get_json()
    assert (funds["credit_limit_cents"], funds["net_terms_days"]) == (0, None)
    assert client.get(SETTINGS_URL, headers=headers).get_json()["auto_approve_days"] == (
        settings.DEFAULT_AUTO_APPROVE_DAYS)
    headers = _headers(tech_b)
    assert client.get("/api/v1/pay/funds", headers=headers).status_code == 403
    assert client.get(SETTINGS_URL, headers=headers).status_code == 403
