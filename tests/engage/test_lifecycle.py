"""Routing, offers, counteroffers, the race-free lifecycle, cancellation and backfill."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.accounts.models import Role
from marketplace.core.audit import AuditEntry
from marketplace.engage import backfill, offers, routing
from marketplace.engage.eligibility import assert_can_take
from marketplace.find.lifecycle import ALLOWED, transition
from marketplace.engage.models import (Backout, CounterStatus, Offer,
                                       OfferSource, OfferStatus, RoutingMode, TargetKind)
from marketplace.engage.routing import StagePlan
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.verify.models import CredentialStatus
from marketplace.find.models import AssignmentStatus as S, PoolMember, PoolMemberStatus, TalentPool
from marketplace.core.signals import credentials_lapsed, technician_changed
from tests import factories
from tests.find.helpers import DALLAS, START, give_credential, make_assignment, requirement_set, tech_at


@pytest.fixture
def dispatch(ctx):
    clock.travel_to(START - timedelta(days=3))
    owner = factories.firm_user()
    skill = factories.SkillFactory()
    return owner, skill


def _techs(n, skill, start=0.0):
    techs = [tech_at(DALLAS[0] + start + i * 0.01, DALLAS[1], skills={skill.id: 3})
             for i in range(n)]
    for tech in techs:
        technician_changed.send(tech.id)  # keep the match index in step
    db.session.commit()
    return techs


def _route(owner, assignment, mode=RoutingMode.FIRST_TO_ACCEPT, stages=None, **kw):
    plan = stages or [StagePlan(TargetKind.TOP_MATCHES, top_k=10)]
    engagement = routing.route_assignment(owner, assignment, mode=mode, stages=plan, **kw)
    db.session.commit()
    return engagement


def _offer(assignment, tech) -> Offer:
    return db.session.scalar(select(Offer).where(Offer.assignment_id == assignment.id,
                                                 Offer.technician_id == tech.id))


def test_first_to_accept_assigns_and_closes_the_other_offers(dispatch):
    owner, skill = dispatch
    a, b = _techs(2, skill)
    job = make_assignment(owner, skills={skill.id: 1}, status=S.DRAFT)
    _route(owner, job)
    assert job.status == S.PUBLISHED
    offers.accept_offer(a.user, _offer(job, a))
    db.session.commit()
    assert (job.status, job.assignee_id) == (S.ASSIGNED, a.id)
    assert _offer(job, b).status == OfferStatus.CLOSED
    with pytest.raises(InvalidState):
        offers.accept_offer(b.user, _offer(job, b))
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject_type == "assignments", AuditEntry.subject_id == job.id)))
    assert {"assignment.published", "assignment.routed", "assignment.accepted"} <= actions


def test_unverified_firm_and_over_budget_dispatcher_cannot_route(dispatch):
    owner, skill = dispatch
    job = make_assignment(owner, skills={skill.id: 1})
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    dispatcher.membership.budget_limit_cents = job.budget_cents - 1
    db.session.commit()
    with pytest.raises(PermissionDenied, match="above your limit"):
        routing.route_assignment(dispatcher, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                                 stages=[StagePlan(TargetKind.TOP_MATCHES, top_k=5)])
    from marketplace.accounts.models import FirmVerification
    owner.firm.verification_status = FirmVerification.PENDING
    with pytest.raises(InvalidState, match="verified"):
        routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                                 stages=[StagePlan(TargetKind.TOP_MATCHES, top_k=5)])


def test_staged_routing_advances_on_schedule_and_stops_once_assigned(dispatch):
    owner, skill = dispatch
    favourite, pooled, other = _techs(3, skill)
    pool = TalentPool(firm_id=owner.firm.id, name="Dallas LV")
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolMember(pool_id=pool.id, technician_id=pooled.id, status=PoolMemberStatus.ACTIVE))
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[favourite.id]),
                               StagePlan(TargetKind.POOL, after_minutes=30, pool_ids=[pool.id]),
                               StagePlan(TargetKind.TOP_MATCHES, after_minutes=120, top_k=10)])
    assert [o.technician_id for o in offers.list_assignment_offers(job)] == [favourite.id]
    clock.advance(timedelta(minutes=29))
    assert routing.advance_routing() == 0
    clock.advance(timedelta(minutes=2))
    assert routing.advance_routing() == 1
    db.session.commit()
    assert {o.technician_id for o in offers.list_assignment_offers(job)} == {favourite.id, pooled.id}
    offers.accept_offer(pooled.user, _offer(job, pooled))
    db.session.commit()
    clock.advance(timedelta(hours=3))
    assert routing.advance_routing() == 0  # assigned: the marketplace stage never runs
    assert _offer(job, other) is None


def test_offers_expire(dispatch):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, offer_ttl_hours=4)
    clock.advance(timedelta(hours=5))
    assert offers.expire_offers() == 1
    db.session.commit()
    with pytest.raises(InvalidState, match="expired"):
        offers.accept_offer(tech.user, _offer(job, tech))


def test_technician_counteroffer_accepted_by_firm_assigns_at_new_price(dispatch):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job)
    offer = _offer(job, tech)
    counter = offers.propose_counteroffer(tech.user, offer, price_cents=24000, expenses_cents=1500,
                                          note="Parking downtown")
    db.session.commit()
    assert offer.status == OfferStatus.COUNTERED
    with pytest.raises(PermissionDenied):
        offers.decide_counteroffer(tech.user, counter, True)  # not your call
    offers.decide_counteroffer(owner, counter, True)
    db.session.commit()
    assert (job.status, job.assignee_id) == (S.ASSIGNED, tech.id)
    assert (offer.price_cents, offer.expenses_cents) == (24000, 1500)
    assert counter.status == CounterStatus.ACCEPTED


def test_firm_counteroffer_rejected_then_schedule_counter_accepted(dispatch):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, mode=RoutingMode.APPLY_AND_CHOOSE)
    offer = _offer(job, tech)
    low = offers.propose_counteroffer(owner, offer, price_cents=15000)
    offers.decide_counteroffer(tech.user, low, False)
    db.session.commit()
    assert offer.status == OfferStatus.OPEN and job.status == S.PUBLISHED
    later = job.starts_at + timedelta(days=1)
    move = offers.propose_counteroffer(tech.user, offer, price_cents=20000,
                                       starts_at=later, ends_at=later + timedelta(hours=2))
    offers.decide_counteroffer(owner, move, True)
    db.session.commit()
    assert job.starts_at == later and job.assignee_id == tech.id


def test_apply_and_choose(dispatch):
    owner, skill = dispatch
    a, b = _techs(2, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, mode=RoutingMode.APPLY_AND_CHOOSE)
    with pytest.raises(InvalidState, match="apply instead"):
        offers.accept_offer(a.user, _offer(job, a))
    offers.apply_to_offer(a.user, _offer(job, a))
    offers.apply_to_offer(b.user, _offer(job, b))
    offers.choose_applicant(owner, _offer(job, b))
    db.session.commit()
    assert job.assignee_id == b.id and _offer(job, a).status == OfferStatus.CLOSED


def test_decline_needs_a_reason_and_is_recorded(dispatch):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job)
    with pytest.raises(ValidationFailed):
        offers.decline_offer(tech.user, _offer(job, tech), " ")
    offers.decline_offer(tech.user, _offer(job, tech), "Booked elsewhere")
    db.session.commit()
    assert _offer(job, tech).decline_reason == "Booked elsewhere"


def test_a_technician_cannot_hold_overlapping_assignments(dispatch):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    first = make_assignment(owner, skills={skill.id: 1})
    second = make_assignment(owner, skills={skill.id: 1}, starts_at=START + timedelta(hours=1))
    _route(owner, first, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    _route(owner, second, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    offers.accept_offer(tech.user, _offer(first, tech))
    db.session.commit()
    with pytest.raises(InvalidState) as exc:
        offers.accept_offer(tech.user, _offer(second, tech))
    assert exc.value.code == "double_booked"


def test_cancellation_fee_applies_only_after_the_cutoff(dispatch):
    owner, skill = dispatch
    early_tech, late_tech = _techs(2, skill)
    fees = {}
    for label, tech, hours_before in (("early", early_tech, 48), ("late", late_tech, 5)):
        clock.travel_to(START - timedelta(days=3))
        job = make_assignment(owner, skills={skill.id: 1}, title=label)
        _route(owner, job, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])],
               cancellation_cutoff_hours=24, cancellation_fee_cents=5000)
        offers.accept_offer(tech.user, _offer(job, tech))
        db.session.commit()
        clock.travel_to(START - timedelta(hours=hours_before))
        fees[label] = backfill.cancel_assignment(owner, job, "Customer postponed").fee_cents
        db.session.commit()
        assert job.status == S.CANCELLED
    assert fees == {"early": 0, "late": 5000}


def test_backout_returns_to_published_and_offers_the_standby_list_at_once(dispatch):
    owner, skill = dispatch
    first, standby = _techs(2, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[first.id])])
    offers.accept_offer(first.user, _offer(job, first))
    db.session.commit()
    assert _offer(job, standby) is None
    sent = backfill.back_out(first.user, job, "Truck broke down")
    db.session.commit()
    assert (job.status, job.assignee_id) == (S.PUBLISHED, None)
    assert [o.technician_id for o in sent] == [standby.id]
    assert _offer(job, standby).source == OfferSource.STANDBY
    assert db.session.scalar(select(Backout)).reason == "Truck broke down"
    offers.accept_offer(standby.user, _offer(job, standby))
    db.session.commit()
    assert job.assignee_id == standby.id


def test_lapsed_credential_releases_future_work_but_not_a_visit_in_progress(dispatch):
    owner, skill = dispatch
    rs, ctype = requirement_set(owner.firm)
    first, second, standby = _techs(3, skill)
    held = {t.id: give_credential(t, ctype, expires_on=date(2031, 1, 1))
            for t in (first, second, standby)}
    future = make_assignment(owner, skills={skill.id: 1}, requirement_set_id=rs.id)
    visiting = make_assignment(owner, skills={skill.id: 1}, requirement_set_id=rs.id,
                               starts_at=START + timedelta(days=2))
    _route(owner, future, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[first.id])])
    _route(owner, visiting, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[first.id])])
    offers.accept_offer(first.user, _offer(future, first))
    db.session.commit()
    transition(visiting, S.ASSIGNED, actor=None, action="test", assignee_id=second.id)
    transition(visiting, S.IN_PROGRESS, actor=None, action="test")
    for t in (first, second):   # their insurance lapsed (the sweep marks it so)
        held[t.id].status = CredentialStatus.EXPIRED
    db.session.commit()
    credentials_lapsed.send(None, pairs=[(first.id, ctype.id), (second.id, ctype.id)],
                            on=clock.today())
    db.session.commit()
    assert (future.status, future.assignee_id) == (S.PUBLISHED, None)
    assert _offer(future, standby).source == OfferSource.STANDBY
    assert db.session.scalar(select(Backout)).offboarded is True
    assert (visiting.status, visiting.assignee_id) == (S.IN_PROGRESS, second.id)


def test_no_illegal_transition_is_possible():
    assert S.PUBLISHED not in ALLOWED[S.IN_PROGRESS]
    assert ALLOWED[S.PAID] == set() and ALLOWED[S.CANCELLED] == set()


def test_illegal_transition_raises_and_changes_nothing(dispatch):
    owner, _ = dispatch
    job = make_assignment(owner, status=S.DRAFT)
    with pytest.raises(InvalidState):
        transition(job, S.APPROVED, actor=owner, action="test")
    assert job.status == S.DRAFT


def test_marketplace_stage_lets_a_qualified_technician_pick_the_work_up(dispatch, client, auth):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, stages=[StagePlan(TargetKind.MARKETPLACE)])
    assert offers.list_assignment_offers(job) == []
    auth.login(tech.user.email, factories.PASSWORD)
    response = client.post(f"/assignments/{job.id}/take")
    assert response.status_code == 302
    offer = _offer(job, tech)
    assert offer.source == OfferSource.MARKETPLACE
    assert "1</span><span class=\"stat-label\">offer waiting" in client.get("/tech").get_data(as_text=True)


def test_api_refuses_illegal_moves_with_the_error_shape(dispatch, client):
    owner, skill = dispatch
    (tech,) = _techs(1, skill)
    job = make_assignment(owner, skills={skill.id: 1})
    _route(owner, job, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    from marketplace.accounts.tokens import issue_api_token
    _, tech_token = issue_api_token(tech.user, "t")
    _, firm_token = issue_api_token(owner, "f")
    db.session.commit()
    offer_id = _offer(job, tech).id
    as_tech = {"Authorization": f"Bearer {tech_token}"}
    as_firm = {"Authorization": f"Bearer {firm_token}"}
    bad = client.post(f"/api/v1/offers/{offer_id}/choose", headers=as_firm)
    assert bad.status_code == 409 and bad.json["error"]["code"] == "offer_closed"
    back = client.post(f"/api/v1/assignments/{job.id}/back-out", json={"reason": "x"}, headers=as_tech)
    assert back.status_code == 404  # not theirs yet
    ok = client.post(f"/api/v1/offers/{offer_id}/accept", headers=as_tech)
    assert ok.status_code == 200 and ok.json["status"] == "accepted"
    again = client.post(f"/api/v1/offers/{offer_id}/accept", headers=as_tech)
    assert again.status_code == 409
    cancel = client.post(f"/api/v1/assignments/{job.id}/cancel", json={"reason": ""}, headers=as_firm)
    assert cancel.status_code == 422 and "reason" in cancel.json["error"]["fields"]
    timeline = client.get(f"/api/v1/assignments/{job.id}/timeline", headers=as_firm).json
    assert [e["action"] for e in timeline][-1] == "assignment.accepted"


LOS_ANGELES = (34.0522, -118.2437)


@pytest.mark.parametrize("expires_on, takes_it", [(date(2030, 6, 3), True),
                                                 (date(2030, 6, 2), False)])
def test_evening_work_on_the_west_coast_is_judged_on_the_site_local_day(dispatch, expires_on,
                                                                        takes_it):
    # 18:00 in Los Angeles on 3 June is 01:00 UTC on 4 June: the work's day is 3 June.
    owner, skill = dispatch
    rs, ctype = requirement_set(owner.firm)
    tech = tech_at(*LOS_ANGELES, skills={skill.id: 3})
    technician_changed.send(tech.id)
    give_credential(tech, ctype, expires_on=expires_on)
    job = make_assignment(owner, lat=LOS_ANGELES[0], lon=LOS_ANGELES[1], skills={skill.id: 1},
                          requirement_set_id=rs.id,
                          starts_at=datetime(2030, 6, 4, 1, 0, tzinfo=timezone.utc))
    job.timezone = "America/Los_Angeles"
    db.session.commit()
    _route(owner, job, stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    offered = _offer(job, tech)
    # Matching and acceptance give the same answer for a credential expiring on that day.
    assert (offered is not None) == takes_it
    if takes_it:
        offers.accept_offer(tech.user, offered)
        db.session.commit()
        assert (job.status, job.assignee_id) == (S.ASSIGNED, tech.id)
    else:
        with pytest.raises(InvalidState) as refused:
            assert_can_take(tech, job)
        assert refused.value.code == "not_compliant"


def test_every_firm_member_is_told_once_of_a_lapse_during_a_visit(dispatch):
    owner, skill = dispatch
    manager = factories.firm_user(Role.MANAGER, firm=owner.firm)
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    rs, ctype = requirement_set(owner.firm)
    (tech,) = _techs(1, skill)
    cred = give_credential(tech, ctype, expires_on=date(2031, 1, 1))
    visiting = make_assignment(owner, skills={skill.id: 1}, requirement_set_id=rs.id)
    transition(visiting, S.ASSIGNED, actor=None, action="test", assignee_id=tech.id)
    transition(visiting, S.IN_PROGRESS, actor=None, action="test")
    cred.status = CredentialStatus.EXPIRED   # it lapsed during the visit
    db.session.commit()
    for _ in range(2):   # a second sweep reporting the same lapse tells nobody again
        credentials_lapsed.send(None, pairs=[(tech.id, ctype.id)], on=clock.today())
        db.session.commit()
    told = list(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "assignment.credential_lapsed")))
    assert sorted(told) == sorted([owner.id, manager.id, dispatcher.id])
    assert visiting.status == S.IN_PROGRESS
