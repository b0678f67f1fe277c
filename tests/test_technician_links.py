"""Wherever a firm's page names a technician, the name opens their profile: the assignment
page (assigned to, agreed with, matches), the engagement page (assignee, offers), the pool
page, the work review page, the board (page and refresh), messages, the dashboard and the
credential status page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.engage.models import Engagement, Offer, OfferStatus, RoutingMode
from marketplace.extensions import db
from marketplace.find.matching import rebuild_index
from marketplace.find.models import AssignmentStatus, PoolMember, PoolMemberStatus, TalentPool
from marketplace.manage import messages
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.pages import links

NOW = datetime(2030, 5, 1, 15, tzinfo=timezone.utc)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    skill = factories.SkillFactory(name="CCTV")
    dana = tech_at(*DALLAS, skills={skill.id: 3}, name="Dana Reyes")
    pete = tech_at(DALLAS[0] + 0.01, DALLAS[1], skills={skill.id: 3}, name="Pete Park")
    rebuild_index()
    open_job = make_assignment(owner, title="Open job", skills={skill.id: 1},
                               starts_at=NOW + timedelta(days=3))
    job = make_assignment(owner, title="Assigned job", status=AssignmentStatus.ASSIGNED,
                          assignee_id=dana.id, agreed_price_cents=20000,
                          starts_at=NOW + timedelta(days=1))
    db.session.add_all([
        Engagement(assignment_id=open_job.id, mode=RoutingMode.APPLY_AND_CHOOSE),
        Offer(assignment_id=open_job.id, technician_id=pete.id, price_cents=15000,
              status=OfferStatus.APPLIED, expires_at=NOW + timedelta(days=1)),
        Offer(assignment_id=job.id, technician_id=dana.id, price_cents=20000,
              status=OfferStatus.ACCEPTED, expires_at=NOW + timedelta(days=1))])
    pool = TalentPool(firm_id=owner.firm.id, name="Regulars")
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolMember(pool_id=pool.id, technician_id=pete.id,
                              status=PoolMemberStatus.ACTIVE))
    db.session.commit()
    messages.post(owner, messages.access_thread(owner, job.id, dana.id), "Gate code 1234")
    db.session.commit()
    return {"owner": owner, "dana": dana, "pete": pete, "open": open_job, "job": job,
            "pool": pool}


def _href(tech) -> str:
    return f"/technicians/{tech.id}"


def test_every_firm_page_links_a_technicians_name_to_their_profile(client, auth, world):
    dana, pete = world["dana"], world["pete"]
    auth.login("owner@example.com")
    pages = {
        f"/assignments/{world['job'].id}": [dana],            # assigned to, agreed with
        f"/assignments/{world['open'].id}": [dana, pete],      # the matches
        f"/assignments/{world['job'].id}/engagement": [dana],  # assigned to and the offer
        f"/assignments/{world['open'].id}/engagement": [pete],  # an applicant
        f"/pools/{world['pool'].id}": [pete],
        f"/work/{world['job'].id}": [dana],                    # the firm's review page
        "/board": [dana],
        "/messages": [dana],
        f"/work/{world['job'].id}/messages/{dana.id}": [dana],
        "/firm": [dana],
        f"/verify/technicians?technician={pete.id}": [pete],
    }
    for url, techs in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        found = links(response.get_data(True))
        for tech in techs:
            assert found.get(tech.name) == _href(tech), (url, tech.name)
    row = client.get("/board.json").get_json()["rows"]
    assert [(r["technician"], r["technician_url"]) for r in row if r["technician"]] == [
        ("Dana Reyes", _href(dana))]
    # And the profile opens for each of them.
    for tech in (dana, pete):
        assert client.get(_href(tech)).status_code == 200
