"""Engage's money: agreed price and expenses kept apart, currencies carried, amounts bounded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.tokens import issue_api_token
from marketplace.core import clock
from marketplace.core.money import MAX_CENTS
from marketplace.engage import backfill, offers, routing
from marketplace.engage.models import (
    Cancellation,
    Counteroffer,
    Offer,
    RoutingMode,
    TargetKind,
)
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus as S
from marketplace.notifications.models import Notification
from tests import factories
from tests.find.helpers import DALLAS, START, make_assignment, tech_at

AGREED = "$360.00 + $25.00 expenses"


@pytest.fixture
def world(ctx):
    clock.travel_to(START - timedelta(days=3))
    owner = factories.firm_user(email="owner@example.com")
    tech = tech_at(*DALLAS, email="tech@example.com", name="Tess Tech")
    return owner, tech


def _routed(owner, tech, mode=RoutingMode.FIRST_TO_ACCEPT, **kw):
    job = make_assignment(owner, **kw)
    routing.route_assignment(owner, job, mode=mode, cancellation_fee_cents=5000,
                             stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    db.session.commit()
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    return job, offer


def _page(app, email, path):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": factories.PASSWORD})
    return client.get(path).get_data(as_text=True)


def test_accepting_a_counteroffer_keeps_the_agreed_price_and_expenses_apart(app, world):
    owner, tech = world
    job, offer = _routed(owner, tech)
    counter = offers.propose_counteroffer(tech.user, offer, price_cents=36000,
                                          expenses_cents=2500, note="Parking downtown")
    db.session.commit()
    offers.decide_counteroffer(owner, counter, True)
    db.session.commit()
    db.session.expire_all()
    assert (job.status, job.assignee_id) == (S.ASSIGNED, tech.id)
    assert (offer.price_cents, offer.expenses_cents) == (36000, 2500)
    assert (job.agreed_price_cents, job.agreed_expenses_cents) == (36000, 2500)
    for email, path in (("owner@example.com", f"/assignments/{job.id}/engagement"),
                        ("owner@example.com", f"/assignments/{job.id}"),
                        ("tech@example.com", f"/offers/{offer.id}")):
        page = _page(app, email, path)
        assert AGREED in page, path
        assert "$385.00" not in page, path
    told = db.session.scalar(select(Notification.body).where(
        Notification.user_id == owner.id, Notification.kind == "assignment.assigned"))
    assert told == f"Agreed price {AGREED}."


def test_a_firm_counteroffer_accepted_by_the_technician_keeps_expenses_apart(world):
    owner, tech = world
    job, offer = _routed(owner, tech, mode=RoutingMode.APPLY_AND_CHOOSE)
    counter = offers.propose_counteroffer(owner, offer, price_cents=36000, expenses_cents=2500)
    offers.decide_counteroffer(tech.user, counter, True)
    db.session.commit()
    assert (offer.price_cents, offer.expenses_cents) == (36000, 2500)
    assert (job.agreed_price_cents, job.agreed_expenses_cents) == (36000, 2500)


def test_accepting_the_offer_as_sent_agrees_its_price_without_expenses(world):
    owner, tech = world
    job, offer = _routed(owner, tech)
    offers.accept_offer(tech.user, offer)
    db.session.commit()
    assert (job.agreed_price_cents, job.agreed_expenses_cents) == (20000, 0)
    assert offer.expenses_cents == 0


def test_a_backout_clears_the_agreed_terms_and_a_reopened_offer_starts_from_the_budget(world):
    owner, tech = world
    job, offer = _routed(owner, tech)
    counter = offers.propose_counteroffer(tech.user, offer, price_cents=36000, expenses_cents=2500)
    offers.decide_counteroffer(owner, counter, True)
    db.session.commit()
    backfill.back_out(tech.user, job, "Truck broke down")
    db.session.commit()
    assert (job.assignee_id, job.agreed_price_cents, job.agreed_expenses_cents) == (None, None, None)
    other = tech_at(DALLAS[0] + 0.01, DALLAS[1])
    stale = Offer(assignment_id=job.id, technician_id=other.id, price_cents=99999,
                  expenses_cents=700, currency="EUR", status=offers.OfferStatus.CLOSED,
                  expires_at=clock.now())
    db.session.add(stale)
    db.session.commit()
    [reopened] = offers.send_offers(job, [other.id])
    assert (reopened.price_cents, reopened.expenses_cents, reopened.currency) == (20000, 0, "USD")


def test_offers_counteroffers_and_cancellations_carry_the_assignment_currency(app, world):
    owner, tech = world
    job, offer = _routed(owner, tech, currency="CAD")
    counter = offers.propose_counteroffer(tech.user, offer, price_cents=36000, expenses_cents=2500)
    db.session.commit()
    assert (offer.currency, counter.currency) == ("CAD", "CAD")
    proposal = db.session.scalar(select(Notification.body).where(
        Notification.user_id == owner.id, Notification.kind == "counteroffer.received"))
    assert proposal == "Tess Tech proposes CA$360.00 + CA$25.00 expenses."
    offers.decide_counteroffer(owner, counter, True)
    db.session.commit()
    assert "CA$360.00 + CA$25.00 expenses" in _page(app, "tech@example.com", f"/offers/{offer.id}")
    clock.travel_to(START - timedelta(hours=5))
    client = app.test_client()
    client.post("/login", data={"email": "owner@example.com", "password": factories.PASSWORD})
    page = client.post(f"/assignments/{job.id}/cancel", data={"cancel-reason": "Customer moved"},
                       follow_redirects=True).get_data(as_text=True)
    assert "A fee of CA$50.00 is owed." in page
    record = db.session.scalar(select(Cancellation).where(Cancellation.assignment_id == job.id))
    assert (record.fee_cents, record.currency) == (5000, "CAD")
    told = db.session.scalar(select(Notification.body).where(
        Notification.user_id == tech.user.id, Notification.kind == "assignment.cancelled"))
    assert "A cancellation fee of CA$50.00 is owed to you." in told


# --- amounts over the API -------------------------------------------------------------

BAD_AMOUNTS = [True, False, 10**30, MAX_CENTS + 1, -1, 1.5, "36000", None]


@pytest.fixture
def api(world):
    owner, tech = world
    job, offer = _routed(owner, tech)
    _, tech_token = issue_api_token(tech.user, "t")
    _, firm_token = issue_api_token(owner, "f")
    db.session.commit()
    return {"job": job, "offer": offer,
            "tech": {"Authorization": f"Bearer {tech_token}"},
            "firm": {"Authorization": f"Bearer {firm_token}"}}


@pytest.mark.parametrize("field", ["price_cents", "expenses_cents"])
@pytest.mark.parametrize("value", BAD_AMOUNTS)
def test_counteroffer_amounts_must_be_whole_bounded_cents(client, api, field, value):
    body = {"price_cents": 36000, "expenses_cents": 2500, field: value}
    r = client.post(f"/api/v1/offers/{api['offer'].id}/counteroffers", json=body,
                    headers=api["tech"])
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(Counteroffer.id)) is None


def test_a_counteroffer_price_of_zero_is_refused_by_name(client, api):
    r = client.post(f"/api/v1/offers/{api['offer'].id}/counteroffers",
                    json={"price_cents": 0}, headers=api["firm"])
    assert r.status_code == 422 and "price_cents" in r.get_json()["error"]["fields"]


def test_an_accepted_counteroffer_answers_with_the_split_and_the_currency(client, api):
    r = client.post(f"/api/v1/offers/{api['offer'].id}/counteroffers",
                    json={"price_cents": 36000, "expenses_cents": 2500}, headers=api["tech"])
    assert r.status_code == 201 and r.get_json()["currency"] == "USD"
    r = client.post(f"/api/v1/counteroffers/{r.get_json()['id']}/accept", headers=api["firm"])
    assert r.status_code == 200, r.get_json()
    offer = r.get_json()["offer"]
    assert (offer["price_cents"], offer["expenses_cents"], offer["currency"]) == (36000, 2500, "USD")


@pytest.mark.parametrize("value", [True, 10**30, -1, 12.5, "5000"])
def test_route_refuses_a_bad_cancellation_fee_by_name(client, api, value):
    job = make_assignment(api["job"].created_by, status=S.DRAFT, title="Second")
    r = client.post(f"/api/v1/assignments/{job.id}/route", headers=api["firm"], json={
        "mode": "first_to_accept", "stages": [{"target": "top_matches", "top_k": 5}],
        "cancellation_fee_cents": value})
    assert r.status_code == 422, r.get_json()
    assert "cancellation_fee_cents" in r.get_json()["error"]["fields"]
