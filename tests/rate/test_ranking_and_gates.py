"""Used where it matters: matching ranks by distance and reliability (and says so), the
dispatcher can sort by either; requirement sets with minimum scores keep technicians
below them out of matching and pools, checked again when scores change."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find.matching import match_technicians, rebuild_index
from marketplace.find.models import PoolMember, PoolMemberStatus, TalentPool
from marketplace.rate import gates
from marketplace.rate.models import TechnicianScore
from marketplace.verify import compliance
from marketplace.verify.models import RequirementSet
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.rate.history import T0, outcome

NORTH_KM = 1 / 111.0


def _scored(tech, reliability, completed=10):
    db.session.add(TechnicianScore(technician_id=tech.id, reliability=reliability,
                                   n_completed=completed))


def test_matches_rank_by_distance_and_reliability_and_sort_by_either(app, client, auth, ctx):
    owner = factories.firm_user()
    near = tech_at(DALLAS[0] + 5 * NORTH_KM, DALLAS[1])     # 5 km, reliability 60
    far = tech_at(DALLAS[0] + 8 * NORTH_KM, DALLAS[1])      # 8 km, reliability 95
    new = tech_at(DALLAS[0] + 6 * NORTH_KM, DALLAS[1])      # 6 km, not scored yet
    _scored(near, 60.0)
    _scored(far, 95.0)
    db.session.commit()
    rebuild_index()
    job = make_assignment(owner)
    ranked = match_technicians(job)
    # 8 × (1.5 − 0.95) = 4.4 < 5 × (1.5 − 0.60) = 4.5; new counts at the platform mean (91.5)
    assert [m.technician_id for m in ranked] == [new.id, far.id, near.id]
    assert ranked[1].explanation.startswith("8.0 km") and "reliability 95" in ranked[1].explanation
    assert "reliability new" in ranked[0].explanation
    assert [m.technician_id for m in match_technicians(job, order="distance")] == \
        [near.id, new.id, far.id]
    assert [m.technician_id for m in match_technicians(job, order="reliability")] == \
        [far.id, near.id, new.id]
    auth.login(owner.email)
    page = client.get(f"/assignments/{job.id}?sort=reliability").get_data(as_text=True)
    assert "Sort by" in page and page.index(far.name) < page.index(near.name)


def test_minimum_scores_gate_matching_and_pools_and_are_rechecked(app, ctx):
    owner = factories.firm_user()
    good = tech_at(*DALLAS)
    weak = tech_at(*DALLAS)
    rset = RequirementSet(name="Proven", firm_id=owner.firm.id)
    db.session.add(rset)
    db.session.flush()
    for _ in range(5):
        outcome(owner, good, T0, "on_time", stars=5)
    for _ in range(5):
        outcome(owner, weak, T0, "late", stars=3)
    pool = TalentPool(firm_id=owner.firm.id, name="Core crew", requirement_set_id=rset.id)
    db.session.add(pool)
    db.session.flush()
    member = PoolMember(pool_id=pool.id, technician_id=weak.id, status=PoolMemberStatus.ACTIVE)
    db.session.add(member)
    db.session.commit()
    rebuild_index()
    job = make_assignment(owner, requirement_set_id=rset.id,
                          starts_at=clock.now() + timedelta(days=3))
    assert {m.technician_id for m in match_technicians(job)} == {good.id, weak.id}

    gates.set_minimums(owner, rset, min_reliability=85, min_rating=4.5, min_completed_jobs=5)
    db.session.commit()
    assert [m.technician_id for m in match_technicians(job)] == [good.id]
    failures = compliance.check(weak.id, rset.id, clock.today()).failures
    assert any("rating of 4.5 (has 3.0)" in f for f in failures)
    assert any("reliability score of 85" in f for f in failures)
    db.session.refresh(member)
    assert (member.status, member.removed_reason) == (PoolMemberStatus.REMOVED,
                                                      gates.BELOW_MINIMUM)

    # the weak technician's next jobs lift the rating and score: back in the pool
    for _ in range(20):
        outcome(owner, weak, T0 + timedelta(days=1), "on_time", stars=5)
    db.session.commit()
    db.session.refresh(member)
    assert member.status == PoolMemberStatus.ACTIVE
    assert {m.technician_id for m in match_technicians(job)} == {good.id, weak.id}
