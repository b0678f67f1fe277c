"""SLA clocks: both sides see them; warnings and breaches are recorded and escalated once."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.manage import sla, visits
from marketplace.manage.models import SlaEvent, WorkRecord
from marketplace.notifications.models import Notification
from tests import factories
from tests.find.helpers import make_assignment
from tests.find.helpers import START
from tests.manage.helpers import taken_work


def _events():
    return db.session.execute(select(SlaEvent.assignment_id, SlaEvent.kind, SlaEvent.state)
                              .order_by(SlaEvent.id)).all()


def test_an_arrival_clock_warns_then_breaches_and_escalates_once(app, ctx):
    owner, tech, job = taken_work()
    job.sla_arrival_minutes = 10
    db.session.commit()
    clock.travel_to(job.starts_at - timedelta(minutes=30), freeze=True)
    assert sla.sweep() == []
    clock.travel_to(job.starts_at - timedelta(minutes=5), freeze=True)  # 15 min before due
    assert sla.sweep() == [(job.id, "arrival", "warning")]
    state = sla.clocks(job, None, None)[0]
    assert state.kind == "arrival" and state.state == "at_risk"
    clock.travel_to(job.starts_at + timedelta(minutes=11), freeze=True)
    assert sla.sweep() == [(job.id, "arrival", "breach")]
    assert sla.sweep() == []
    db.session.commit()
    breach_notes = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "work.sla_breach")).all()
    assert breach_notes == [owner.id]  # the owner created it: one notice, not two
    assert sla.clocks(job, None, None)[0].state == "breached"


def test_a_met_clock_records_nothing_and_shows_met(app, ctx):
    owner, tech, job = taken_work()
    job.sla_arrival_minutes = 15
    job.sla_completion_minutes = 60
    db.session.commit()
    clock.travel_to(job.starts_at + timedelta(minutes=5), freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=None)
    clock.travel_to(job.starts_at + timedelta(minutes=20), freeze=True)
    assert [e for e in sla.sweep() if e[1] == "arrival"] == []
    record = db.session.get(WorkRecord, job.id)
    states = {c.kind: c.state for c in sla.clocks(job, record, None)}
    assert states == {"arrival": "met", "completion": "running"}


def test_a_response_clock_breaches_when_nobody_accepts(app, ctx):
    owner = factories.firm_user()
    clock.travel_to(START - timedelta(days=2), freeze=True)
    job = make_assignment(owner, sla_response_minutes=60)
    job.published_at = clock.now()
    db.session.commit()
    clock.advance(timedelta(minutes=61))
    assert (job.id, "response", "breach") in sla.sweep()
    # No sweep ran while it was at risk: the breach alone is recorded.
    assert db.session.scalar(select(func.count()).select_from(SlaEvent)) == 1


def test_the_sweep_judges_a_clock_due_within_a_second_to_the_microsecond(app, ctx):
    """A due time half a second past the minute: neither the warning nor the breach comes
    early (SQLite's datetime() used to drop the fraction and record both 0.5 s early)."""
    owner, tech, job = taken_work()
    job.starts_at += timedelta(milliseconds=500)
    job.ends_at += timedelta(milliseconds=500)
    job.sla_arrival_minutes = 10
    db.session.commit()
    due = job.starts_at + timedelta(minutes=10)
    warn_from = due - timedelta(minutes=30)
    tiny = timedelta(microseconds=1)
    for at, expected in [(warn_from - timedelta(milliseconds=200), []),
                         (warn_from, []),
                         (warn_from + tiny, [(job.id, "arrival", "warning")]),
                         (due - timedelta(milliseconds=200), []),
                         (due, []),
                         (due + tiny, [(job.id, "arrival", "breach")])]:
        clock.travel_to(at, freeze=True)
        assert sla.sweep() == expected, at
        state = sla.clocks(job, None, None)[0].state
        assert state == ("breached" if at > due else "at_risk" if at > warn_from
                         else "running"), at
