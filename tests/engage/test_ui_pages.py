"""What engage's screens say: the timeline in sentences, times in the right zone with its
name, counters that agree in number and lead to the list they count."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.signals import technician_changed
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from marketplace.notifications.services import notify
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.pages import links, text

# Saturday June 1 2030, 15:00 UTC: 10:00 AM in Dallas (CDT), 8:00 AM in Los Angeles (PDT).
NOW = datetime(2030, 6, 1, 15, tzinfo=timezone.utc)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(name="Olive Owner", email="owner@example.com")
    skill = factories.SkillFactory(name="CCTV")
    dana = tech_at(*DALLAS, skills={skill.id: 3}, name="Dana Reyes", email="dana@example.com",
                   timezone="America/Los_Angeles")
    sam = tech_at(DALLAS[0] + 0.01, DALLAS[1], skills={skill.id: 3}, name="Sam Second",
                  email="sam@example.com")
    for t in (dana, sam):
        technician_changed.send(t.id)
    db.session.commit()
    return {"owner": owner, "skill": skill, "dana": dana, "sam": sam}


def _job(world, title, days, mode=RoutingMode.FIRST_TO_ACCEPT, to=None):
    job = make_assignment(world["owner"], title=title, skills={world["skill"].id: 1},
                          status=AssignmentStatus.DRAFT,
                          starts_at=datetime(2030, 6, 3, 15, tzinfo=timezone.utc)
                          + timedelta(days=days))
    routing.route_assignment(world["owner"], job, mode=mode, stages=[StagePlan(
        TargetKind.TECHNICIANS, technician_ids=[t.id for t in (to or [world["dana"]])])])
    db.session.commit()
    return job


def _offer(job, tech) -> Offer:
    return db.session.scalar(select(Offer).where(Offer.assignment_id == job.id,
                                                 Offer.technician_id == tech.id))


def test_timeline_reads_as_sentences_in_the_viewers_zone(client, auth, world):
    job = _job(world, "Install 8 cameras", 0, to=[world["dana"], world["sam"]])
    offers.decline_offer(world["sam"].user, _offer(job, world["sam"]), "Booked that day")
    offers.propose_counteroffer(world["dana"].user, _offer(job, world["dana"]),
                                price_cents=24000)
    db.session.commit()
    clock.travel_to(NOW + timedelta(minutes=30), freeze=True)
    counter = _offer(job, world["dana"]).pending_counteroffer
    offers.decide_counteroffer(world["owner"], counter, True)
    db.session.commit()

    auth.login("owner@example.com")
    page = client.get(f"/assignments/{job.id}/engagement").get_data(True)
    timeline = text(page, "timeline")
    assert "counteroffer.accepted" not in timeline and "assignment." not in timeline
    lines = timeline.splitlines()
    assert lines == [
        "Olive Owner published it Sat Jun 1, 10:00 AM CDT",
        "Olive Owner routed it (first to accept) Sat Jun 1, 10:00 AM CDT",
        "Sam Second declined: “Booked that day” Sat Jun 1, 10:00 AM CDT",
        "Dana Reyes sent a counteroffer Sat Jun 1, 10:00 AM CDT",
        "Dana Reyes's counteroffer was accepted by Olive Owner Sat Jun 1, 10:30 AM CDT",
    ]
    # The work itself is in the site's zone, named.
    assert "Mon Jun 3, 10:00 AM CDT" in text(page)


def test_technician_sees_work_in_the_sites_zone_and_deadlines_in_their_own(client, auth, world):
    job = _job(world, "Install 8 cameras", 0)
    notify(world["dana"].user, "test", "Hello from the firm")
    db.session.commit()
    auth.login("dana@example.com")
    offer_page = text(client.get(f"/offers/{_offer(job, world['dana']).id}").get_data(True))
    assert "Mon Jun 3, 10:00 AM – 12:00 PM CDT" in offer_page          # the site's clock
    assert "Respond by Sun Jun 2, 8:00 AM PDT." in offer_page           # 24 h, Dana's clock
    inbox = text(client.get("/notifications").get_data(True))
    assert "Hello from the firm Sat Jun 1, 8:00 AM PDT" in inbox


def test_admin_without_a_zone_sees_utc_named(client, auth, world):
    from marketplace.verify.models import Credential, CredentialKind, CredentialType
    ctype = CredentialType(name="Low-voltage licence", kind=CredentialKind.LICENCE)
    db.session.add(ctype)
    db.session.flush()
    cred = Credential(technician_id=world["dana"].id, credential_type_id=ctype.id,
                      number="LV-1", issuer="TDLR", submitted_at=NOW)
    db.session.add(cred)
    admin = factories.admin(email="admin@example.com")
    db.session.commit()
    auth.login(admin.email)
    page = text(client.get(f"/verify/review/{cred.id}").get_data(True))
    assert "Submitted\nSat Jun 1, 3:00 PM UTC" in page


def test_firm_counters_agree_in_number_and_lead_to_the_filtered_list(client, auth, world):
    countered = _job(world, "Countered job", 0)
    applied = _job(world, "Applied job", 1, mode=RoutingMode.APPLY_AND_CHOOSE)
    _job(world, "Quiet job", 2)
    offers.propose_counteroffer(world["dana"].user, _offer(countered, world["dana"]),
                                price_cents=24000)
    offers.apply_to_offer(world["dana"].user, _offer(applied, world["dana"]))
    db.session.commit()
    auth.login("owner@example.com")
    page = client.get("/firm").get_data(True)
    tiles = links(page, "firm-engagement")
    assert tiles == {"3 assignments looking for a technician": "/assignments?status=published",
                     "1 counteroffer to answer": "/assignments?needs=counteroffers",
                     "1 applicant to choose from": "/assignments?needs=applicants"}
    for label, title in (("1 counteroffer to answer", "Countered job"),
                         ("1 applicant to choose from", "Applied job")):
        listing = text(client.get(tiles[label]).get_data(True))
        shown = [t for t in ("Countered job", "Applied job", "Quiet job") if t in listing]
        assert shown == [title]
    every = text(client.get(tiles["3 assignments looking for a technician"]).get_data(True))
    assert all(t in every for t in ("Countered job", "Applied job", "Quiet job"))


def test_technician_counters_agree_in_number_and_lead_to_their_lists(client, auth, world):
    waiting = _job(world, "Waiting job", 0)
    applied = _job(world, "Applied job", 1, mode=RoutingMode.APPLY_AND_CHOOSE)
    taken = _job(world, "Taken job", 2)
    offers.apply_to_offer(world["dana"].user, _offer(applied, world["dana"]))
    offers.accept_offer(world["dana"].user, _offer(taken, world["dana"]))
    db.session.commit()
    assert waiting.status == AssignmentStatus.PUBLISHED
    auth.login("dana@example.com")
    tiles = links(client.get("/tech").get_data(True), "technician-engagement")
    assert tiles == {"1 offer waiting for you": "/offers?show=waiting",
                     "1 application pending": "/offers?show=applied",
                     "1 upcoming job": "/offers?show=upcoming"}
    for label, title in (("1 offer waiting for you", "Waiting job"),
                         ("1 application pending", "Applied job"), ("1 upcoming job", "Taken job")):
        listing = text(client.get(tiles[label]).get_data(True))
        assert [t for t in ("Waiting job", "Applied job", "Taken job") if t in listing] == [title]


def test_a_stale_feed_card_says_the_work_is_gone_and_an_answered_one_says_so(client, auth,
                                                                             world):
    job = make_assignment(world["owner"], title="Open job", skills={world["skill"].id: 1},
                          status=AssignmentStatus.DRAFT,
                          starts_at=datetime(2030, 6, 3, 15, tzinfo=timezone.utc))
    routing.route_assignment(world["owner"], job, mode=RoutingMode.APPLY_AND_CHOOSE,
                             stages=[StagePlan(TargetKind.MARKETPLACE)])
    db.session.commit()
    auth.login("dana@example.com")
    first = client.post(f"/assignments/{job.id}/take", data={"respond": "1"},
                        follow_redirects=True)
    assert "Applied. The firm will choose soon." in text(first.get_data(True))
    again = client.post(f"/assignments/{job.id}/take", data={"respond": "1"},
                        follow_redirects=True)
    assert "You have already answered this one: see your offers." in text(again.get_data(True))
    offers.choose_applicant(world["owner"], _offer(job, world["dana"]))
    db.session.commit()
    auth.logout()
    auth.login("sam@example.com")
    gone = client.post(f"/assignments/{job.id}/take", data={"respond": "1"})
    assert gone.status_code == 302 and gone.headers["Location"] == "/feed"
    assert "Sorry, this work is no longer open." in text(client.get("/feed").get_data(True))
