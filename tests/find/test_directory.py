"""What the technician directory and profile pages say: who a firm finds (public
profiles of active technicians, and everyone it works with), the filters (name, skill
and level, distance from a ZIP, pool, compliance, "mine"), the history with this firm
only, credentials only for a firm that works with the technician, and the pool form
that takes a technician picked by name."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role, TechnicianStatus
from marketplace.core import clock
from marketplace.core.hooks import hooks
from marketplace.engage.models import Backout, Offer, OfferStatus
from marketplace.extensions import db
from marketplace.find.geo import distance_km
from marketplace.find.models import AssignmentStatus, PoolMember, PoolMemberStatus, TalentPool
from marketplace.integrations.geocoding import geocode
from marketplace.web.sections import TECHNICIAN_PROFILE, register_section
from tests import factories
from tests.find.helpers import DALLAS, give_credential, make_assignment, requirement_set, tech_at
from tests.pages import links, text

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)
AUSTIN = (30.2672, -97.7431)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com", name="Olive Owner")
    other = factories.firm_user(Role.OWNER, email="other@example.com")
    cctv = factories.SkillFactory(name="CCTV")
    fiber = factories.SkillFactory(name="Fiber splicing")
    dana = tech_at(DALLAS[0] + 0.02, DALLAS[1], skills={cctv.id: 3, fiber.id: 1},
                   name="Dana Reyes", headline="CCTV and access control", travel_radius_km=60)
    dale = tech_at(DALLAS[0] + 0.30, DALLAS[1] + 0.10, skills={cctv.id: 2}, name="Dale Ortiz",
                   travel_radius_km=25)
    ana = tech_at(*AUSTIN, skills={cctv.id: 4}, name="Ana Park", city="Austin")
    sam = tech_at(DALLAS[0], DALLAS[1], name="Sam Stone", status=TechnicianStatus.SUSPENDED,
                  status_reason="Fraud")
    rita = tech_at(DALLAS[0], DALLAS[1], name="Rita Vance", status=TechnicianStatus.SUSPENDED,
                   status_reason="No-show twice")
    pool = TalentPool(firm_id=owner.firm.id, name="Regulars")
    db.session.add(pool)
    db.session.flush()
    db.session.add_all([
        PoolMember(pool_id=pool.id, technician_id=dana.id, status=PoolMemberStatus.ACTIVE),
        PoolMember(pool_id=pool.id, technician_id=rita.id, status=PoolMemberStatus.ACTIVE)])
    db.session.commit()
    rset, ctype = requirement_set(owner.firm, name="Insured")
    give_credential(dana, ctype, expires_on=date(2031, 1, 1))
    return {"owner": owner, "other": other, "cctv": cctv, "dana": dana, "dale": dale,
            "ana": ana, "sam": sam, "rita": rita, "pool": pool, "set": rset, "ctype": ctype}


def names(page: str) -> list[str]:
    """The technicians' names the directory lists, in order."""
    listed = text(page, "directory-results") if 'id="directory-results"' in page else ""
    everyone = ["Dana Reyes", "Dale Ortiz", "Ana Park", "Sam Stone", "Rita Vance"]
    return sorted((n for n in everyone if n in listed), key=listed.index)


def test_a_firm_finds_active_technicians_and_those_it_works_with(client, auth, world):
    auth.login("owner@example.com")
    page = client.get("/technicians").get_data(True)
    assert names(page) == ["Ana Park", "Dale Ortiz", "Dana Reyes", "Rita Vance"]
    assert "4 technicians" in text(page, "directory-count")
    row = text(page, "directory-results")
    dana = row[row.index("Dana Reyes"):row.index("Rita Vance")]
    assert "Works with you" in dana and "CCTV and access control" in dana
    assert "Dallas, TX" in dana and "travels up to 60 km" in dana
    assert "CCTV · Advanced" in dana and "Fiber splicing · Entry" in dana
    assert "Suspended" in row[row.index("Rita Vance"):]
    assert links(page, "directory-results")["Dana Reyes"] == f"/technicians/{world['dana'].id}"


def test_another_firm_does_not_find_a_suspended_technician_it_does_not_work_with(
        client, auth, world):
    auth.login("other@example.com")
    page = client.get("/technicians").get_data(True)
    assert names(page) == ["Ana Park", "Dale Ortiz", "Dana Reyes"]
    assert "Works with you" not in page
    assert client.get(f"/technicians/{world['rita'].id}").status_code == 404
    assert client.get(f"/technicians/{world['sam'].id}").status_code == 404


@pytest.mark.parametrize("query,expected", [
    ("q=da", ["Dale Ortiz", "Dana Reyes"]),
    ("q=DANA+reyes", ["Dana Reyes"]),
    ("skill={cctv}&level=3", ["Ana Park", "Dana Reyes"]),
    ("skill={cctv}&level=4", ["Ana Park"]),
    ("pool={pool}", ["Dana Reyes", "Rita Vance"]),
    ("set={set}", ["Dana Reyes"]),
    ("mine=1", ["Dana Reyes", "Rita Vance"]),
    ("q=da&skill={cctv}&level=3", ["Dana Reyes"]),
])
def test_the_directory_filters(client, auth, world, query, expected):
    auth.login("owner@example.com")
    ids = {"cctv": world["cctv"].id, "pool": world["pool"].id, "set": world["set"].id}
    page = client.get("/technicians?" + query.format(**ids)).get_data(True)
    assert names(page) == expected
    assert f"{len(expected)} {'technician' if len(expected) == 1 else 'technicians'}" \
        in text(page, "directory-count")


def test_distance_from_a_zip_code_is_finds_own_nearest_first(client, auth, world):
    auth.login("owner@example.com")
    site = geocode("75201")
    visible = ("dana", "dale", "ana", "rita")      # Sam is suspended and a stranger
    expected = {world[k].name: distance_km(site.lat, site.lon, world[k].lat, world[k].lon)
                for k in visible}
    page = client.get("/technicians?near=75201&within=50").get_data(True)
    near = sorted((n for n in expected if expected[n] <= 50), key=expected.get)
    assert names(page) == near
    assert set(near) == {"Rita Vance", "Dana Reyes", "Dale Ortiz"} and near[-1] == "Dale Ortiz"
    assert f"within 50 km of {site.label}, nearest first" in text(page, "directory-count")
    listing = text(page, "directory-results")
    for name in near:
        assert f"{expected[name]:.1f} km away" in listing
    # Dale travels 25 km: a site further than that is beyond his radius, and the page says so.
    assert expected["Dale Ortiz"] > 25
    assert f"{expected['Dale Ortiz']:.1f} km away (beyond their travel radius)" in listing
    wide = client.get("/technicians?near=75201&within=400").get_data(True)
    assert names(wide) == near + ["Ana Park"]


@pytest.mark.parametrize("query,message", [
    ("within=abc", "Give a distance from 1 to 500 km."),
    ("within=9999", "Give a distance from 1 to 500 km."),
    ("near=nowhere+at+all", "We could not find that address."),
    ("skill=abc", "Choose a skill from the list."),
    ("level=9", "Levels run from 1 (entry) to 4 (expert)."),
    ("set=999999", "Choose one of your requirement sets."),
])
def test_bad_search_input_is_a_field_error_never_a_500(client, auth, world, query, message):
    auth.login("owner@example.com")
    response = client.get("/technicians?" + query)
    assert response.status_code == 200
    assert message in text(response.get_data(True))
    assert "Fix the search above to see technicians." in text(response.get_data(True))


def test_another_firms_pool_is_not_a_filter(client, auth, world):
    auth.login("other@example.com")
    page = client.get(f"/technicians?pool={world['pool'].id}").get_data(True)
    assert "Choose one of your pools." in text(page)
    assert names(page) == []


def test_the_directory_is_paginated(client, auth, world):
    auth.login("owner@example.com")
    first = client.get("/technicians?per_page=3").get_data(True)
    assert names(first) == ["Ana Park", "Dale Ortiz", "Dana Reyes"]
    assert "Page 1 of 2 · 4 in all" in text(first)
    second = client.get(links(first)["Next →"]).get_data(True)
    assert names(second) == ["Rita Vance"]


def test_technicians_have_no_directory(client, auth, world):
    tech = factories.technician(email="t@example.com")
    db.session.commit()
    assert tech
    auth.login("t@example.com")
    assert client.get("/technicians").status_code == 403
    assert client.get(f"/technicians/{world['dana'].id}").status_code == 403


# --- the profile -------------------------------------------------------------------

def _history(world):
    """Dana: assigned on one of the firm's jobs, declined another, backed out of a third;
    also assigned on another firm's job."""
    owner, dana = world["owner"], world["dana"]
    start = NOW + timedelta(days=3)
    held = make_assignment(owner, title="Install 8 cameras", status=AssignmentStatus.ASSIGNED,
                           assignee_id=dana.id, starts_at=start)
    declined = make_assignment(owner, title="Rewire the NVR", starts_at=start)
    left = make_assignment(owner, title="Survey a warehouse", starts_at=start)
    theirs = make_assignment(world["other"], title="Another firm's secret job",
                             status=AssignmentStatus.ASSIGNED, assignee_id=dana.id,
                             starts_at=start)
    db.session.add_all([
        Offer(assignment_id=held.id, technician_id=dana.id, price_cents=20000,
              status=OfferStatus.ACCEPTED, expires_at=start),
        Offer(assignment_id=declined.id, technician_id=dana.id, price_cents=15000,
              status=OfferStatus.DECLINED, decline_reason="Too far", expires_at=start),
        Offer(assignment_id=theirs.id, technician_id=dana.id, price_cents=99000,
              status=OfferStatus.ACCEPTED, expires_at=start),
        Backout(assignment_id=left.id, technician_id=dana.id, reason="Family emergency",
                hours_before_start=30)])
    db.session.commit()
    return held


def test_profile_shows_public_facts_and_the_history_with_this_firm_only(client, auth, world):
    _history(world)
    auth.login("owner@example.com")
    page = client.get(f"/technicians/{world['dana'].id}").get_data(True)
    facts = text(page, "public-profile")
    assert "CCTV and access control" in facts
    assert "Based in\nDallas, TX 75201" in facts and "Travels up to 60 km" in facts
    assert "Works on\nMon, Tue, Wed, Thu, Fri" in facts
    assert "CCTV · Advanced" in facts
    assert "1 assignment with you: 1 assigned." in text(page, "assignment-counts")
    assert "Install 8 cameras" in text(page, "assignment-history")
    assert "2 offers from you: 1 accepted, 1 declined." in text(page, "offer-counts")
    assert "“Too far”" in text(page, "offer-history")
    assert "1 backout on your work." in text(page, "backout-counts")
    assert "Family emergency" in text(page, "backout-history")
    assert "Another firm's secret job" not in page and "990.00" not in page
    assert "Scorecard" in text(page, "scorecard")


def test_a_firm_that_works_with_the_technician_sees_credentials_and_compliance(
        client, auth, world):
    auth.login("owner@example.com")
    url = f"/technicians/{world['dana'].id}"
    page = client.get(url).get_data(True)
    assert "Meets Insured" in text(page, "set-status")
    assert "General liability Insured" in text(page, "credential-list")
    assert "expires 2031-01-01" in text(page, "credential-list")
    chosen = client.get(url + f"?set={world['set'].id}").get_data(True)
    assert "Compliant with Insured today." in text(chosen, "set-result")
    # Dale is in no pool of the firm and was offered nothing: public facts only.
    stranger = client.get(f"/technicians/{world['dale'].id}").get_data(True)
    assert 'id="credential-list"' not in stranger
    assert "Credentials and their documents are shared with firms that work with Dale Ortiz" \
        in text(stranger, "credentials-hidden")
    assert "No assignments with you yet." in text(stranger, "assignment-counts")


def test_a_firm_that_does_not_work_with_them_sees_no_credentials_and_no_other_history(
        client, auth, world):
    held = _history(world)
    dale = world["dale"]
    give_credential(dale, world["ctype"])
    held.assignee_id = dale.id
    db.session.commit()
    auth.login("other@example.com")
    page = client.get(f"/technicians/{dale.id}").get_data(True)
    assert "Dale Ortiz" in text(page)
    assert 'id="credential-list"' not in page and "General liability" not in page
    assert "Install 8 cameras" not in page
    assert "No assignments with you yet." in text(page, "assignment-counts")
    assert "No offers from you yet." in text(page, "offer-counts")


def test_a_later_stage_fills_the_scorecard_through_the_hook(app, client, auth, world):
    """Find keeps a place for the scorecard until a later stage registers one (rate does)."""
    auth.login("owner@example.com")
    url = f"/technicians/{world['dana'].id}"
    sections = hooks(app)._lists[f"{TECHNICIAN_PROFILE}_sections"]
    registered = [s for s in sections if s.key == "scorecard"]
    assert registered, "the rate stage registers the scorecard section"
    sections[:] = [s for s in sections if s.key != "scorecard"]   # sections compare by order
    try:
        assert "show here once rated work is recorded" in text(
            client.get(url).get_data(True), "scorecard")
        register_section(app, TECHNICIAN_PROFILE, "scorecard", "Scorecard",
                         "find/_profile_assignments.html",
                         lambda subject: {"total": 0, "show_firm": False}, order=40)
        page = client.get(url).get_data(True)
        sections.pop()
    finally:
        sections.extend(registered)
    assert "show here once rated work is recorded" not in page
    assert "No assignments with you yet." in text(page, "scorecard")


# --- picking a technician by name ----------------------------------------------------

def _pool_post(client, world, typed: str, action: str = "invite"):
    return client.post(f"/pools/{world['pool'].id}",
                       data={"technician_id": typed, "action": action})


def test_the_pool_form_takes_a_name_typed_or_picked(client, auth, world):
    auth.login("owner@example.com")
    assert _pool_post(client, world, "dale ortiz").status_code == 302
    assert _pool_post(client, world, "Ana Park · Austin, TX · #%d" % world["ana"].id) \
        .status_code == 302
    members = {m.technician_id: m.status for m in db.session.query(PoolMember).filter_by(
        pool_id=world["pool"].id)}
    assert members[world["dale"].id] == PoolMemberStatus.INVITED   # they accept to join
    assert members[world["ana"].id] == PoolMemberStatus.INVITED
    page = client.get(f"/pools/{world['pool'].id}").get_data(True)
    assert links(page, "pool-members")["Dale Ortiz"] == f"/technicians/{world['dale'].id}"


@pytest.mark.parametrize("typed,message", [
    ("Da", "2 technicians match “Da”: pick one from the list."),
    ("Nobody Here", "No technician called “Nobody Here” in the directory."),
    ("", "Type a technician's name and pick them from the list."),
])
def test_a_name_that_is_not_one_technician_says_so_and_keeps_the_text(
        client, auth, world, typed, message):
    auth.login("owner@example.com")
    response = _pool_post(client, world, typed)
    page = response.get_data(True)
    assert response.status_code == 200
    assert message in text(page, "member-form")
    assert f'value="{typed}"' in page                     # what was typed is still there
    if typed == "Da":                                      # the ones to pick from
        assert list(links(page, "pick-candidates")) == [] and text(page, "pick-candidates") == (
            f"Did you mean:\nDale Ortiz · Dallas, TX · #{world['dale'].id} "
            f"Dana Reyes · Dallas, TX · #{world['dana'].id}")


def test_picking_a_candidate_applies_the_action_chosen(client, auth, world):
    auth.login("owner@example.com")
    _pool_post(client, world, "Da", action="invite")
    dale = world["dale"]
    response = _pool_post(client, world, f"Dale Ortiz · Dallas, TX · #{dale.id}",
                          action="invite")
    assert response.status_code == 302
    member = db.session.query(PoolMember).filter_by(technician_id=dale.id).one()
    assert member.status == PoolMemberStatus.INVITED


def test_a_suspended_stranger_cannot_be_picked_even_by_id(client, auth, world):
    auth.login("owner@example.com")
    sam = world["sam"]
    page = _pool_post(client, world, f"Sam Stone · Dallas, TX · #{sam.id}").get_data(True)
    assert f"There is no technician #{sam.id} in the directory." in text(page, "member-form")
    assert db.session.query(PoolMember).filter_by(technician_id=sam.id).count() == 0


def test_suggestions_are_the_directorys_names(client, auth, world):
    auth.login("owner@example.com")
    found = client.get("/technicians/suggest?q=da").get_json()
    assert [s["label"] for s in found] == [
        f"Dale Ortiz · Dallas, TX · #{world['dale'].id}",
        f"Dana Reyes · Dallas, TX · #{world['dana'].id}"]
    assert client.get("/technicians/suggest?q=sam").get_json() == []
