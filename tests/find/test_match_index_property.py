"""The match index stays in step with every change to a technician.

Random technicians, then random changes through the services (skills, location,
status, credentials, bookings); after each change the engine must answer every
random query exactly as the brute-force reference over the source tables.
"""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marketplace.accounts import services as account_services
from marketplace.accounts.models import Role, TechnicianStatus
from marketplace.extensions import db
from marketplace.find.matching import MatchQuery, match_brute_force, rebuild_index, search
from marketplace.find.models import AssignmentStatus
from marketplace.core.signals import technician_changed
from tests import factories
from tests.find.helpers import DALLAS, START, give_credential, make_assignment, \
    requirement_set, tech_at

point = st.tuples(st.floats(-0.8, 0.8), st.floats(-0.9, 0.9))
tech_spec = st.fixed_dictionaries({
    "at": point, "radius": st.integers(5, 120),
    "skills": st.dictionaries(st.integers(0, 2), st.integers(1, 4), max_size=3),
    "credential": st.booleans()})
change = st.one_of(
    st.tuples(st.just("skills"), st.integers(0, 99),
              st.dictionaries(st.integers(0, 2), st.integers(1, 4), max_size=3)),
    st.tuples(st.just("move"), st.integers(0, 99), point),
    st.tuples(st.just("radius"), st.integers(0, 99), st.integers(5, 120)),
    st.tuples(st.just("status"), st.integers(0, 99),
              st.sampled_from(list(TechnicianStatus))),
    st.tuples(st.just("expire"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("book"), st.integers(0, 99), st.integers(-3, 3)),
)
query = st.fixed_dictionaries({
    "at": point, "radius": st.integers(5, 120), "k": st.integers(1, 12),
    "skills": st.dictionaries(st.integers(0, 2), st.integers(1, 4), max_size=2),
    "compliance": st.booleans()})


def _reset():
    db.session.rollback()
    for table in ("assignment_skills", "assignments", "match_index", "credentials",
                  "requirement_items", "requirement_sets", "credential_types",
                  "technician_skills", "technicians"):
        db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(techs=st.lists(tech_spec, min_size=1, max_size=14),
       changes=st.lists(change, max_size=8), queries=st.lists(query, min_size=1, max_size=3))
def test_engine_equals_brute_force_after_random_changes(ctx, techs, changes, queries):
    _reset()
    owner = factories.firm_user(Role.OWNER)
    skills = [factories.SkillFactory() for _ in range(3)]
    rs, ctype = requirement_set()
    profiles = []
    for spec in techs:
        p = tech_at(DALLAS[0] + spec["at"][0], DALLAS[1] + spec["at"][1],
                    skills={skills[i].id: lvl for i, lvl in spec["skills"].items()},
                    travel_radius_km=spec["radius"])
        if spec["credential"]:
            give_credential(p, ctype)
        profiles.append(p)
    rebuild_index()
    db.session.commit()

    def check():
        for q in queries:
            mq = MatchQuery(lat=DALLAS[0] + q["at"][0], lon=DALLAS[1] + q["at"][1],
                            radius_km=q["radius"],
                            skills={skills[i].id: lvl for i, lvl in q["skills"].items()},
                            firm_id=owner.firm.id,
                            requirement_set_id=rs.id if q["compliance"] else None,
                            on=START.date(), starts_at=START, ends_at=START + timedelta(hours=2))
            got = [(m.technician_id, round(m.distance_km, 9)) for m in search(mq, q["k"])]
            want = [(m.technician_id, round(m.distance_km, 9))
                    for m in match_brute_force(mq, q["k"])]
            assert got == want

    check()
    for kind, i, value in changes:
        p = profiles[i % len(profiles)]
        if kind == "skills":
            account_services.set_skills(p.user, {skills[j].id: lvl for j, lvl in value.items()})
        elif kind == "move":
            p.lat, p.lon = DALLAS[0] + value[0], DALLAS[1] + value[1]
            technician_changed.send(p.id)
        elif kind == "radius":
            p.travel_radius_km = value
            technician_changed.send(p.id)
        elif kind == "status":
            account_services.set_technician_status(None, p, value, "test")
        elif kind == "expire":
            give_credential(p, ctype, expires_on=date(2020, 1, 1) if value else date(2031, 1, 1))
        elif kind == "book":
            make_assignment(owner, starts_at=START + timedelta(hours=value),
                            status=AssignmentStatus.ASSIGNED, assignee_id=p.id)
        db.session.commit()
        check()
