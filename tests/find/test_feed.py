"""The technician's work feed: open work they qualify for, nearest first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from marketplace.core import clock
from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.find.matching import feed_for
from marketplace.find.models import AssignmentStatus, FirmBlock
from tests import factories
from tests.find.helpers import DALLAS, START, make_assignment, requirement_set, tech_at


def _titles(profile):
    return [item.assignment.title for item in feed_for(profile)]


def test_feed_lists_qualifying_published_work_nearest_first(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER)
    skill, other = factories.SkillFactory(), factories.SkillFactory()
    tech = tech_at(*DALLAS, skills={skill.id: 2}, travel_radius_km=60)
    make_assignment(owner, title="far", lat=DALLAS[0] + 0.4, skills={skill.id: 1})
    make_assignment(owner, title="near", lat=DALLAS[0] + 0.1, skills={skill.id: 2})
    make_assignment(owner, title="too far", lat=DALLAS[0] + 0.7)
    make_assignment(owner, title="site radius", lat=DALLAS[0] + 0.3, radius_km=20)
    make_assignment(owner, title="skill level", skills={skill.id: 3})
    make_assignment(owner, title="other skill", skills={other.id: 1})
    make_assignment(owner, title="draft", status=AssignmentStatus.DRAFT)
    make_assignment(owner, title="past", starts_at=datetime(2030, 4, 1, tzinfo=timezone.utc))
    rs, _ = requirement_set()
    make_assignment(owner, title="needs insurance", requirement_set_id=rs.id)
    make_assignment(owner, title="booked", status=AssignmentStatus.ASSIGNED,
                    assignee_id=tech.id, starts_at=START + timedelta(days=5))
    make_assignment(owner, title="clashes", starts_at=START + timedelta(days=5, hours=1))
    blocker = factories.firm_user()
    db.session.add(FirmBlock(firm_id=blocker.firm.id, technician_id=tech.id))
    db.session.commit()
    make_assignment(blocker, title="blocked")
    items = feed_for(tech)
    assert [i.assignment.title for i in items] == ["near", "far"]
    assert items[0].distance_km < items[1].distance_km
    assert items[0].explanation.endswith("1 of 1 skills")


def test_feed_exclusions_follow_the_same_rules_as_matching(ctx):
    """The feed checks every candidate in one statement; it must agree, assignment by
    assignment, with the rule matching uses (excluded_ids), including compliance
    judged on each assignment's own date."""
    from datetime import date

    from marketplace.find.matching import MatchQuery, excluded_ids
    from tests.find.helpers import give_credential

    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner, blocker = factories.firm_user(Role.OWNER), factories.firm_user(Role.OWNER)
    tech = tech_at(*DALLAS, travel_radius_km=60)
    rs, ctype = requirement_set()
    give_credential(tech, ctype, expires_on=date(2030, 6, 10))
    made = [
        make_assignment(owner, title="insured, before expiry", requirement_set_id=rs.id),
        make_assignment(owner, title="insured, after expiry", requirement_set_id=rs.id,
                        starts_at=START + timedelta(days=14)),
        make_assignment(owner, title="booked", status=AssignmentStatus.ASSIGNED,
                        assignee_id=tech.id, starts_at=START + timedelta(days=3)),
        make_assignment(owner, title="clashes", starts_at=START + timedelta(days=3, hours=1)),
        make_assignment(owner, title="next day", starts_at=START + timedelta(days=4)),
        make_assignment(blocker, title="blocked"),
    ]
    db.session.add(FirmBlock(firm_id=blocker.firm.id, technician_id=tech.id))
    db.session.commit()
    want = [a.title for a in made if a.status == AssignmentStatus.PUBLISHED
            and tech.id not in excluded_ids(MatchQuery.of(a), [tech.id])]
    assert sorted(_titles(tech)) == sorted(want) == ["insured, before expiry", "next day"]


def test_feed_sees_work_across_the_antimeridian(ctx):
    """ZIP 96507 (Shemya, 178.9°E) and Adak (177.1°W) are 280 km apart across ±180°:
    the feed's box is two longitude ranges there, and it agrees with matching."""
    from marketplace.find.geo import distance_km
    from marketplace.find.matching import match_technicians, rebuild_index
    from marketplace.integrations.geocoding import lookup_postal_code

    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER)
    here, adak = lookup_postal_code("96507"), lookup_postal_code("99546")
    assert here.lon > 178 and adak.lon < -177
    tech = tech_at(here.lat, here.lon, travel_radius_km=300)
    a = make_assignment(owner, title="Adak", lat=adak.lat, lon=adak.lon, radius_km=300)
    rebuild_index()
    [item] = feed_for(tech)
    assert item.assignment.title == "Adak"
    assert item.distance_km == distance_km(here.lat, here.lon, adak.lat, adak.lon)
    assert 270 < item.distance_km < 290
    assert [m.technician_id for m in match_technicians(a)] == [tech.id]


def test_feed_box_holds_work_just_inside_the_travel_radius(ctx):
    """Near Honolulu a degree of latitude is 110.7 km, not 111: work 49.9 km due north
    is inside a 50 km travel radius and must not fall outside the box."""
    from tests.find.test_geo import HONOLULU, _due_north

    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER)
    tech = tech_at(*HONOLULU, travel_radius_km=50)
    lat, lon = _due_north(*HONOLULU, 49.9)
    make_assignment(owner, title="north shore", lat=lat, lon=lon, radius_km=50)
    far_lat, far_lon = _due_north(*HONOLULU, 50.2)
    make_assignment(owner, title="too far", lat=far_lat, lon=far_lon, radius_km=100)
    assert _titles(tech) == ["north shore"]
