"""The KPI rollups equal the live computation from the events, whatever the scope and
the end instant, and stay equal as the events change (kept in the same transaction)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.engage.models import Backout
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.find.lifecycle import transition
from marketplace.manage import arrival, kpis, rollups
from marketplace.manage.models import Arrival, SlaEvent
from marketplace.manage.rollups import KpiHourly
from tests.find.helpers import make_assignment
from tests.manage.test_kpis import END, _job, history  # noqa: F401  (the fixture)


def _same(scope: kpis.Scope) -> list[kpis.Figure]:
    live = kpis.dashboard(scope)
    rolled = rollups.dashboard(scope)
    for a, b in zip(live, rolled, strict=True):
        assert a.kpi.key == b.kpi.key
        assert (a.count, a.value is None) == (b.count, b.value is None), a.kpi.key
        if a.value is not None:
            assert b.value == pytest.approx(a.value), a.kpi.key
        assert [n for _, _, n in a.weekly] == [n for _, _, n in b.weekly], a.kpi.key
        assert [w for w, _, _ in a.weekly] == [w for w, _, _ in b.weekly]
        for (_, x, _), (_, y, _) in zip(a.weekly, b.weekly):
            assert (x is None) == (y is None) and (x is None or y == pytest.approx(x))
    return rolled


def _hourly() -> dict:
    return {(r.firm_id, r.source, r.hour): (r.n, round(r.s1, 6), round(r.s2, 6))
            for r in db.session.scalars(select(KpiHourly)) if r.n}


def _scopes(firm_id: int, tech_id: int, site: str):
    for end in (END, END - timedelta(minutes=89, seconds=17), END + timedelta(days=3, hours=5)):
        yield kpis.scope_for(firm_id, 4, end=end)
        yield kpis.scope_for(firm_id, 12, end=end)
        yield kpis.scope_for(firm_id, 4, end=end, technician_id=tech_id)
        yield kpis.scope_for(firm_id, 12, end=end, site=site)


def test_rollups_equal_the_live_figures_for_every_scope_and_end(history):  # noqa: F811
    owner, tech, jobs = history
    figures = {f.kpi.key: f for f in _same(kpis.scope_for(owner.firm.id, 4))}
    assert figures["on_time"].count == 5 and figures["on_time"].value == pytest.approx(3 / 5)
    assert figures["time_on_site"].value == pytest.approx(100)
    for scope in _scopes(owner.firm.id, tech.id, jobs[0].address):
        _same(scope)


def test_rollups_follow_changes_in_the_same_transaction_and_equal_a_rebuild(history):  # noqa: F811
    owner, tech, jobs = history
    a1, a2, a3, a4, a5 = jobs
    # A cancellation (a lifecycle move), a backout, a breach, a late arrival and a
    # no-show from the sweep: each recounted before its commit.
    transition(a4, S.CANCELLED, actor=owner, action=Action.ASSIGNMENT_CANCELLED)
    db.session.add(Backout(assignment_id=a1.id, technician_id=tech.id, reason="flat tyre",
                           hours_before_start=30))
    db.session.add(SlaEvent(assignment_id=a2.id, kind="arrival", state="breach", at=END))
    db.session.commit()
    late = _job(owner, tech, END - timedelta(days=4), arrival=Arrival.LATE,
                approved=END - timedelta(days=3), minutes=45)
    clock.travel_to(END + timedelta(days=1), freeze=True)
    missed = make_assignment(owner, starts_at=END - timedelta(hours=5), status=S.ASSIGNED)
    missed.assignee_id, missed.ends_at = tech.id, END - timedelta(hours=3)
    db.session.commit()
    assert missed.id in arrival.sweep().no_shows
    db.session.commit()
    for scope in _scopes(owner.firm.id, tech.id, late.address):
        _same(scope)
    figures = {f.kpi.key: f for f in rollups.dashboard(kpis.scope_for(
        owner.firm.id, 4, end=END + timedelta(days=1)))}
    assert figures["no_show"].count >= 6
    kept = _hourly()
    rollups.rebuild()
    db.session.commit()
    assert _hourly() == kept
    rollups.rebuild(owner.firm.id)
    db.session.commit()
    assert _hourly() == kept


def test_a_rolled_back_change_leaves_the_rollups_as_they_were(history):  # noqa: F811
    owner, tech, jobs = history
    kept = _hourly()
    transition(jobs[3], S.CANCELLED, actor=owner, action=Action.ASSIGNMENT_CANCELLED)
    rollups.apply_pending()
    assert _hourly() != kept
    db.session.rollback()
    assert _hourly() == kept
