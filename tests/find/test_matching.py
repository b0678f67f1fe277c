"""Matching: who qualifies, in what order, and why; one distance definition."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from geopy.distance import geodesic
from sqlalchemy import select

from marketplace.accounts import services as account_services
from marketplace.accounts.models import Role, TechnicianStatus
from marketplace.extensions import db
from marketplace.find.matching import (haversine_km, haversine_sql, match_brute_force,
                                       match_technicians, rebuild_index, reindex_technician)
from marketplace.find.models import AssignmentStatus, FirmBlock, MatchIndexRow
from tests import factories
from tests.find.helpers import (DALLAS, START, give_credential, make_assignment,
                                requirement_set, tech_at)

CITY_PAIRS = [
    ((32.7767, -96.7970), (29.7604, -95.3698)),    # Dallas - Houston
    ((40.7128, -74.0060), (34.0522, -118.2437)),   # New York - Los Angeles
    ((47.6062, -122.3321), (25.7617, -80.1918)),   # Seattle - Miami
    ((41.8781, -87.6298), (42.3314, -83.0458)),    # Chicago - Detroit
    ((39.7392, -104.9903), (39.7294, -104.8319)),  # Denver - Aurora
]


def north(km: float) -> tuple[float, float]:
    """A point `km` due north of the Dallas site."""
    return DALLAS[0] + km / 111.2, DALLAS[1]


@pytest.mark.parametrize("a,b", CITY_PAIRS)
def test_haversine_agrees_with_geodesic_within_a_third_of_a_percent(a, b):
    exact = geodesic(a, b).km
    assert abs(haversine_km(*a, *b) - exact) / exact < 0.003


def test_sql_haversine_is_the_same_definition_as_python(ctx):
    for a, b in CITY_PAIRS:
        in_sql = db.session.scalar(select(haversine_sql(a[0], a[1], *b)))
        assert in_sql == pytest.approx(haversine_km(*a, *b), rel=1e-9)


@pytest.fixture
def firm(ctx):
    return factories.firm_user(Role.OWNER)


@pytest.fixture
def skill(ctx):
    return factories.SkillFactory()


def _ids(matches):
    return [m.technician_id for m in matches]


def test_ranks_qualified_technicians_nearest_first_with_explanations(firm, skill):
    far = tech_at(*north(30), skills={skill.id: 2})
    near = tech_at(*north(5), skills={skill.id: 3})
    mid = tech_at(*north(12), skills={skill.id: 2})
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 2})
    matches = match_technicians(a)
    assert _ids(matches) == [near.id, mid.id, far.id]
    assert matches[0].explanation.startswith("5.0 km, 1 of 1 skills")
    assert matches[1].distance_km == pytest.approx(12, abs=0.1)


def test_excludes_technician_outside_their_own_travel_radius(firm, skill):
    tech_at(*north(30), skills={skill.id: 2}, travel_radius_km=20)
    ok = tech_at(*north(10), skills={skill.id: 2}, travel_radius_km=20)
    rebuild_index()
    assert _ids(match_technicians(make_assignment(firm, skills={skill.id: 1}))) == [ok.id]


def test_excludes_technician_outside_the_assignment_radius(firm, skill):
    tech_at(*north(40), skills={skill.id: 2}, travel_radius_km=200)
    ok = tech_at(*north(20), skills={skill.id: 2})
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1}, radius_km=25)
    assert _ids(match_technicians(a)) == [ok.id]


def test_excludes_technician_missing_a_skill_or_below_the_level(firm, skill):
    other = factories.SkillFactory()
    tech_at(*north(5), skills={skill.id: 3})                     # lacks `other`
    tech_at(*north(6), skills={skill.id: 1, other.id: 3})        # level too low
    ok = tech_at(*north(7), skills={skill.id: 2, other.id: 2})
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 2, other.id: 2})
    matches = match_technicians(a)
    assert _ids(matches) == [ok.id]
    assert "2 of 2 skills" in matches[0].explanation


def test_excludes_technician_not_compliant_on_the_assignment_date(firm, skill):
    rs, ctype = requirement_set()
    lapsing = tech_at(*north(5), skills={skill.id: 2})
    give_credential(lapsing, ctype, expires_on=START.date() - timedelta(days=1))
    tech_at(*north(6), skills={skill.id: 2})   # no credential at all
    ok = tech_at(*north(7), skills={skill.id: 2})
    give_credential(ok, ctype, expires_on=date(2031, 1, 1))
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1}, requirement_set_id=rs.id)
    assert _ids(match_technicians(a)) == [ok.id]


def test_excludes_technician_booked_in_an_overlapping_window(firm, skill):
    busy = tech_at(*north(5), skills={skill.id: 2})
    free = tech_at(*north(6), skills={skill.id: 2})
    make_assignment(firm, starts_at=START + timedelta(hours=1), status=AssignmentStatus.ASSIGNED,
                    assignee_id=busy.id)
    # A booking that ends when this one starts does not overlap.
    make_assignment(firm, starts_at=START - timedelta(hours=2),
                    status=AssignmentStatus.IN_PROGRESS, assignee_id=free.id)
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1})
    assert _ids(match_technicians(a)) == [free.id]


def test_excludes_technician_blocked_by_the_firm_only_for_that_firm(firm, skill):
    blocked = tech_at(*north(5), skills={skill.id: 2})
    db.session.add(FirmBlock(firm_id=firm.firm.id, technician_id=blocked.id))
    db.session.commit()
    rebuild_index()
    assert blocked.id not in _ids(match_technicians(make_assignment(firm, skills={skill.id: 1})))
    other = factories.firm_user()
    assert blocked.id in _ids(match_technicians(make_assignment(other, skills={skill.id: 1})))


def test_excludes_suspended_technician_once_status_changes(firm, skill):
    tech = tech_at(*north(5), skills={skill.id: 2})
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1})
    assert _ids(match_technicians(a)) == [tech.id]
    account_services.set_technician_status(None, tech, TechnicianStatus.SUSPENDED, "fraud")
    db.session.commit()
    assert match_technicians(a) == []
    assert db.session.scalar(select(MatchIndexRow).where(
        MatchIndexRow.technician_id == tech.id)) is None


def test_skill_and_location_changes_reach_the_index_through_the_signal(firm, skill):
    tech = tech_at(*north(5), skills={})
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1})
    assert match_technicians(a) == []
    account_services.set_skills(tech.user, {skill.id: 2})
    db.session.commit()
    assert _ids(match_technicians(a)) == [tech.id]
    tech.lat, tech.lon = 40.7128, -74.0060   # moved to New York
    reindex_technician(tech.id)
    db.session.commit()
    assert match_technicians(a) == []


def test_top_k_and_exclusions_cut_the_list(firm, skill):
    techs = [tech_at(*north(2 + 3 * i), skills={skill.id: 2}) for i in range(6)]
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1})
    assert _ids(match_technicians(a, k=3)) == [t.id for t in techs[:3]]
    assert _ids(match_technicians(a, k=3, exclude_ids=[techs[0].id])) == \
        [t.id for t in techs[1:4]]
    assert _ids(match_brute_force(a, k=3)) == [t.id for t in techs[:3]]


def test_technicians_on_the_edges_of_the_search_steps_are_read_once_and_in_order(
        firm, skill):
    """Steps read rings whose edges are exact: a technician a hair inside or outside
    a step's radius is returned once, by one step, and ranks where it should."""
    from geopy.distance import distance as geo_distance

    from marketplace.find.matching import _FIRST_STEP_KM

    edges = [_FIRST_STEP_KM * 2 ** i for i in range(4)]
    techs = []
    for i, edge in enumerate(edges):
        for j, km in enumerate((edge - 1e-4, edge + 1e-4)):
            p = geo_distance(kilometers=km).destination(DALLAS, 37 * i + 90 * j)
            techs.append(tech_at(p.latitude, p.longitude, skills={skill.id: 2}))
    rebuild_index()
    a = make_assignment(firm, skills={skill.id: 1})
    want = _ids(match_brute_force(a, k=len(techs)))
    assert sorted(want) == sorted(t.id for t in techs)
    for k in range(1, len(techs) + 1):
        assert _ids(match_technicians(a, k=k)) == want[:k]


def test_flask_find_reindex_rebuilds_the_index(app, firm, skill):
    tech = tech_at(*north(3), skills={skill.id: 2})
    db.session.execute(MatchIndexRow.__table__.delete())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["find", "reindex"])
    assert result.exit_code == 0, result.output
    assert "match index rebuilt: 2 rows" in result.output
    a = make_assignment(firm, skills={skill.id: 1})
    assert [m.technician_id for m in match_technicians(a)] == [tech.id]
