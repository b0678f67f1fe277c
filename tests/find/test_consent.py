"""Access to a technician grows only from their side: an invitation or an unanswered offer
gives the firm nothing, "add to pool" is an invitation the technician accepts, and a
technician id the firm may not see is answered exactly like one that does not exist."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.accounts import tokens
from marketplace.accounts.models import TechnicianStatus
from marketplace.core import clock
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.extensions import db
from marketplace.find import pools
from marketplace.find.models import PoolMember, PoolMemberStatus
from marketplace.notifications.models import Notification
from marketplace.verify import relations, submissions
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.verify.helpers import PDF, ctype

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user()
    tech = tech_at(*DALLAS, name="Tess Tech")
    t = ctype(requires_document=True)
    cred = submissions.submit_credential(tech.user, credential_type_id=t.id,
                                         expires_on=date(2031, 1, 1), coverage_cents=1,
                                         upload=submissions.Upload("coi.pdf", PDF))
    submissions.approve(factories.admin(), cred)
    # Someone the firm may not find: suspended, and never worked with it.
    foreign = tech_at(DALLAS[0] + 0.01, DALLAS[1], email="far@example.com")
    foreign.status, foreign.status_reason = TechnicianStatus.SUSPENDED, "Suspended."
    pool = pools.create_pool(owner, name="Regulars", visibility="private")
    db.session.commit()
    yield {"owner": owner, "tech": tech, "cred": cred, "pool": pool, "foreign": foreign,
           "missing": foreign.id + 1000}
    clock.reset()


def _headers(user) -> dict:
    raw = tokens.issue_api_token(user, "t")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _document(client, headers, w):
    return client.get(f"/api/v1/technicians/{w['tech'].id}/credentials/{w['cred'].id}/document",
                      headers=headers)


def test_add_to_pool_is_an_invitation_and_only_acceptance_opens_the_credentials(client,
                                                                                world):
    w, firm = world, _headers(world["owner"])
    r = client.post(f"/api/v1/pools/{w['pool'].id}/members", headers=firm,
                    json={"technician_id": w["tech"].id, "action": "add"})
    assert r.status_code == 200 and r.get_json()["status"] == "invited"
    assert pools.active_member_ids(w["pool"]) == []
    assert not relations.works_with(w["owner"].firm.id, w["tech"].id)
    assert _document(client, firm, w).status_code == 404
    assert client.get(f"/api/v1/technicians/{w['tech'].id}/credentials",
                      headers=firm).status_code == 404
    invited = db.session.scalar(select(Notification).where(
        Notification.user_id == w["tech"].user_id, Notification.kind == "pool.invited"))
    assert invited.title == f"{w['owner'].firm.name} invites you to Regulars"
    # The technician says yes on their pools page: now the firm works with them.
    me = _headers(w["tech"].user)
    mine = client.get("/api/v1/my/pools", headers=me).get_json()
    assert [i["pool"]["name"] for i in mine["invitations"]] == ["Regulars"]
    assert client.post(f"/api/v1/pools/{w['pool'].id}/join", headers=me).status_code == 200
    assert pools.active_member_ids(w["pool"]) == [w["tech"].id]
    assert relations.works_with(w["owner"].firm.id, w["tech"].id)
    r = _document(client, firm, w)
    assert r.status_code == 200 and r.data == PDF


def test_the_pool_page_invites_and_the_technician_accepts_on_my_pools(client, auth, world):
    w = world
    auth.login(w["owner"].email)
    r = client.post(f"/pools/{w['pool'].id}", data={"technician_id": f"#{w['tech'].id}",
                                                   "action": "invite"})
    assert r.status_code == 302
    page = client.get(f"/pools/{w['pool'].id}").get_data(True)
    assert "Tess Tech" in page and "invited" in page
    assert "once they accept" in page
    assert db.session.scalar(select(PoolMember.status).where(
        PoolMember.pool_id == w["pool"].id)) == PoolMemberStatus.INVITED
    auth.logout()
    auth.login(w["tech"].user.email)
    mine = client.get("/my/pools").get_data(True)
    assert "Regulars" in mine and "Accept" in mine
    client.post(f"/my/pools/{w['pool'].id}/join")
    assert pools.active_member_ids(w["pool"]) == [w["tech"].id]


def test_an_unanswered_offer_is_not_working_together_an_application_is(world):
    w = world
    job = make_assignment(w["owner"], starts_at=NOW + timedelta(days=10))
    routing.route_assignment(w["owner"], job, mode=RoutingMode.APPLY_AND_CHOOSE, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[w["tech"].id])])
    db.session.commit()
    firm_id = w["owner"].firm.id
    assert not relations.works_with(firm_id, w["tech"].id)
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    offers.apply_to_offer(w["tech"].user, offer)
    db.session.commit()
    assert relations.works_with(firm_id, w["tech"].id)


def _alike(a, b, missing: int, foreign: int):
    """Status and body, with the id itself, an error page's request reference and the
    sign-out form's CSRF token (signed with the second it was made) set aside."""
    def norm(r):
        body = re.sub(r"Reference: [0-9a-f]+", "Reference: R", r.get_data(True))
        body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="T"', body)
        return r.status_code, body.replace(str(missing), "ID").replace(str(foreign), "ID")
    assert norm(a) == norm(b)
    return a


def test_a_missing_and_a_foreign_technician_id_are_answered_alike(client, auth, world):
    w = world
    firm = _headers(w["owner"])
    missing, foreign = w["missing"], w["foreign"].id

    def both(call):
        return _alike(call(missing), call(foreign), missing, foreign)

    r = both(lambda tid: client.post(f"/api/v1/pools/{w['pool'].id}/members", headers=firm,
                                     json={"technician_id": tid, "action": "add"}))
    assert r.status_code == 422
    r = both(lambda tid: client.post(f"/api/v1/pools/{w['pool'].id}/members", headers=firm,
                                     json={"technician_id": tid, "action": "invite"}))
    assert r.status_code == 422
    job = make_assignment(w["owner"], starts_at=NOW + timedelta(days=10))
    r = both(lambda tid: client.post(f"/api/v1/assignments/{job.id}/route", headers=firm, json={
        "mode": "first_to_accept", "stages": [{"target": "technicians",
                                               "technician_ids": [tid]}]}))
    assert r.status_code == 422
    r = both(lambda tid: client.get(f"/api/v1/technicians/{tid}/credentials", headers=firm))
    assert r.status_code == 404
    auth.login(w["owner"].email)
    client.get("/", follow_redirects=True)  # the welcome message is shown once
    r = both(lambda tid: client.get(f"/technicians/{tid}"))
    assert r.status_code == 404
    r = both(lambda tid: client.post(f"/pools/{w['pool'].id}",
                                     data={"technician_id": f"#{tid}", "action": "invite"}))
    assert f"There is no technician #{missing} in the directory." in r.get_data(True)
    # Routing by e-mail on the page: an unknown address and a hidden technician's alike.
    pages = [client.post(f"/assignments/{job.id}/route", data={
        "mode": "first_to_accept", "target_1": "technicians", "emails_1": email,
        "offer_ttl_hours": 24, "cancellation_cutoff_hours": 24, "standby_size": 5})
        for email in ("nobody@example.com", "far@example.com")]
    texts = [p.get_data(True).replace("nobody@example.com", "E").replace("far@example.com", "E")
             for p in pages]
    assert pages[0].status_code == pages[1].status_code == 200
    assert texts[0] == texts[1] and "No technician with: E" in texts[0]
    assert db.session.scalar(select(PoolMember.id).where(
        PoolMember.technician_id == foreign)) is None
