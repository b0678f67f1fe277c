"""What people see: the scorecard on a technician's profile and their own page, the
firm's scorecard on an offer and in the feed, a firm's notes, favourites and blocks
(a blocked technician is never matched nor offered the work), the admin's queue."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.audit import AuditEntry
from marketplace.engage import routing
from marketplace.engage.models import Offer, OfferStatus, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.matching import match_technicians, rebuild_index
from marketplace.rate import firm_scores, ratings
from tests import factories
from tests.find.helpers import START, make_assignment, tech_at
from tests.rate.history import outcome


def _offer(owner, tech):
    clock.travel_to(START - timedelta(days=3))
    job = make_assignment(owner)
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    db.session.commit()
    return job, db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))


def test_profile_own_page_offer_and_feed_show_the_scorecards(app, client, auth, ctx):
    owner = factories.firm_user()
    tech = tech_at(32.7767, -96.7970)
    for day in range(6):
        job = outcome(owner, tech, START - timedelta(days=40 - day), "on_time")
    firm_scores.recompute_firms()   # the history was written without lifecycle moves
    clock.travel_to(START - timedelta(days=34, hours=-1))
    ratings.rate(owner, job, {"overall": 5, "comment": "Spotless", "private_feedback": "hush"})
    ratings.rate(tech.user, job, {"overall": 4, "payment_speed": 3})
    db.session.commit()
    card = firm_scores.cards_for({owner.firm.id})[owner.firm.id]
    assert card.rating == 4 and card.rated == 1

    auth.login(owner.email)
    page = client.get(f"/technicians/{tech.id}").get_data(as_text=True)
    assert 'id="scorecard"' in page and "Reliability" in page and "5.0★" in page
    assert "show here once rated work" not in page and "hush" not in page
    assert "First-time completion" in page and "platform mean" in page
    comments = client.get(f"/technicians/{tech.id}/ratings").get_data(as_text=True)
    assert "Spotless" in comments and "hush" not in comments
    auth.logout()

    auth.login(tech.user.email)
    mine = client.get("/me/scorecard").get_data(as_text=True)
    assert "Every event that moved your score" in mine and "Arrived on time" in mine
    assert "What would move it most" in mine
    job2, offer = _offer(owner, tech)
    shown = client.get(f"/offers/{offer.id}").get_data(as_text=True)
    assert 'id="firm-scorecard"' in shown and "4.0★ from 1 technician rating" in shown
    assert "6 jobs" in shown and "Verified firm" in shown
    feed = client.get("/feed").get_data(as_text=True)
    assert f"{owner.firm.name}: 4.0★ (1)" in feed


def test_a_firm_notes_favourites_and_blocks_a_technician_with_an_audit_trail(app, client, auth,
                                                                              ctx):
    owner = factories.firm_user()
    tech = tech_at(32.7767, -96.7970)
    rebuild_index()
    job, offer = _offer(owner, tech)
    assert [m.technician_id for m in match_technicians(job)] == [tech.id]
    auth.login(owner.email)
    client.post(f"/technicians/{tech.id}/note", data={"body": "Great with old racks"})
    client.post(f"/technicians/{tech.id}/favourite", data={})
    page = client.get(f"/technicians/{tech.id}").get_data(as_text=True)
    assert "Great with old racks" in page and "Favourite" in page
    refused = client.post(f"/technicians/{tech.id}/block", data={"reason": ""},
                          follow_redirects=True).get_data(as_text=True)
    assert "Say why" in refused
    client.post(f"/technicians/{tech.id}/block", data={"reason": "Left the site open"})
    lists_page = client.get("/firm/technician-lists").get_data(as_text=True)
    assert "Left the site open" in lists_page and tech.name in lists_page
    db.session.expire_all()
    assert match_technicians(job) == []
    assert db.session.get(Offer, offer.id).status == OfferStatus.CLOSED
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.firm_id == owner.firm.id)))
    assert {"technician_note.saved", "favourite.added", "technician.blocked"} <= actions
    # another firm sees none of it
    auth.logout()
    other = factories.firm_user()
    auth.login(other.email)
    theirs = client.get(f"/technicians/{tech.id}").get_data(as_text=True)
    assert "Great with old racks" not in theirs and "Left the site open" not in theirs
    client.post(f"/technicians/{tech.id}/block", data={"reason": "x"})
    auth.logout()
    auth.login(owner.email)
    client.post(f"/technicians/{tech.id}/block", data={"remove": "1"})
    db.session.expire_all()
    assert [m.technician_id for m in match_technicians(job)] == [tech.id]
