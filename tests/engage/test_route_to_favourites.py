"""Routing to a firm's favourites: a target rate provides through a hook (engage does not
import rate). Exactly the firm's eligible favourites get offers; blocked and
non-compliant ones are left out as every target leaves them out; another firm's
favourites are never used; without the provider the target is neither offered nor
accepted."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.tokens import issue_api_token
from marketplace.core import clock
from marketplace.core.hooks import hooks
from marketplace.engage import routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import ROUTING_TARGETS, StagePlan
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus, FirmBlock
from marketplace.rate import lists
from tests import factories
from tests.find.helpers import DALLAS, START, give_credential, make_assignment, \
    requirement_set, tech_at


@pytest.fixture
def world(ctx):
    clock.travel_to(START - timedelta(days=3))
    owner = factories.firm_user(email="owner@example.com")
    other = factories.firm_user(email="other@example.com")
    rs, ctype = requirement_set(owner.firm)
    techs = {name: tech_at(DALLAS[0] + i * 0.001, DALLAS[1], email=f"{name}@example.com")
             for i, name in enumerate(("fav", "fav2", "blocked", "lapsed", "theirs", "plain"))}
    for name in ("fav", "fav2", "blocked", "theirs", "plain"):
        give_credential(techs[name], ctype)
    for name in ("fav", "fav2", "blocked", "lapsed"):
        lists.add_favourite(owner, techs[name])
    lists.add_favourite(other, techs["theirs"])
    # blocked through find's own exclusion, after being made a favourite
    db.session.add(FirmBlock(firm_id=owner.firm.id, technician_id=techs["blocked"].id,
                             reason="no"))
    db.session.commit()
    job = make_assignment(owner, requirement_set_id=rs.id, status=AssignmentStatus.DRAFT)
    their_job = make_assignment(other, status=AssignmentStatus.DRAFT)
    return {"owner": owner, "other": other, "techs": techs, "job": job, "their_job": their_job}


def _offered(job) -> set[int]:
    return set(db.session.scalars(select(Offer.technician_id)
                                  .where(Offer.assignment_id == job.id)))


def _ids(world, *names) -> set[int]:
    return {world["techs"][n].id for n in names}


def test_routing_to_favourites_offers_exactly_the_firms_eligible_favourites(world):
    routing.route_assignment(world["owner"], world["job"], mode=RoutingMode.FIRST_TO_ACCEPT,
                             stages=[StagePlan(TargetKind.FAVOURITES)])
    db.session.commit()
    assert _offered(world["job"]) == _ids(world, "fav", "fav2")
    routing.route_assignment(world["other"], world["their_job"],
                             mode=RoutingMode.FIRST_TO_ACCEPT,
                             stages=[StagePlan(TargetKind.FAVOURITES)])
    db.session.commit()
    assert _offered(world["their_job"]) == _ids(world, "theirs")


def test_a_later_favourites_stage_uses_the_favourites_of_its_start(world):
    routing.route_assignment(world["owner"], world["job"], mode=RoutingMode.FIRST_TO_ACCEPT,
                             stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[
                                 world["techs"]["plain"].id]),
                                 StagePlan(TargetKind.FAVOURITES, after_minutes=30)])
    db.session.commit()
    assert _offered(world["job"]) == _ids(world, "plain")
    lists.remove_favourite(world["owner"], world["techs"]["fav2"])
    db.session.commit()
    clock.advance(timedelta(minutes=31))
    assert routing.advance_routing() == 1
    db.session.commit()
    assert _offered(world["job"]) == _ids(world, "plain", "fav")


def test_a_firm_without_favourites_is_told_so(world):
    owner = factories.firm_user(email="new@example.com")
    job = make_assignment(owner, status=AssignmentStatus.DRAFT)
    with pytest.raises(ValidationFailed, match="no favourites"):
        routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                                 stages=[StagePlan(TargetKind.FAVOURITES)])


def test_without_a_provider_favourites_are_neither_offered_nor_accepted(app, world):
    registry = hooks(app)._maps[ROUTING_TARGETS]
    provider = registry.pop(TargetKind.FAVOURITES.value)
    try:
        assert TargetKind.FAVOURITES not in routing.available_targets()
        with pytest.raises(ValidationFailed, match="not available"):
            routing.route_assignment(world["owner"], world["job"],
                                     mode=RoutingMode.FIRST_TO_ACCEPT,
                                     stages=[StagePlan(TargetKind.FAVOURITES)])
    finally:
        registry[TargetKind.FAVOURITES.value] = provider
    assert TargetKind.FAVOURITES in routing.available_targets()


def test_the_route_form_offers_favourites_and_routes_to_them(client, auth, world):
    job_id = world["job"].id
    auth.login("owner@example.com", factories.PASSWORD)
    page = client.get(f"/assignments/{job_id}/route").get_data(as_text=True)
    assert 'value="favourites"' in page and "Your favourites" in page
    response = client.post(f"/assignments/{job_id}/route", data={
        "mode": "first_to_accept", "offer_ttl_hours": 24, "cancellation_cutoff_hours": 24,
        "cancellation_fee": 0, "standby_size": 5, "target_1": "favourites", "after_1": 0})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _offered(world["job"]) == _ids(world, "fav", "fav2")


def test_the_api_routes_to_favourites_and_documents_the_value(client, world):
    _, raw = issue_api_token(world["other"], "dispatch")
    db.session.commit()
    their_job_id = world["their_job"].id
    response = client.post(f"/api/v1/assignments/{their_job_id}/route",
                           headers={"Authorization": f"Bearer {raw}"},
                           json={"mode": "first_to_accept", "stages": [{"target": "favourites"}]})
    assert response.status_code == 200, response.json
    assert {o["technician_id"] for o in response.json["offers"]} == _ids(world, "theirs")
    spec = client.get("/api/v1/openapi.json").json
    assert "favourites" in repr(spec["paths"]["/api/v1/assignments/{assignment_id}/route"])
