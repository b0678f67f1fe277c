"""The recount before commit (one statement on PostgreSQL, several on SQLite) numbers
hours as a rebuild does, on the hour and just after it, and moves the sums only by the
difference."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.manage import rollups, sync
from marketplace.manage.rollups import KpiFact, KpiHourly
from tests.find.helpers import START
from tests.manage.helpers import taken_work


def _hourly() -> dict:
    return {(r.firm_id, r.source, r.hour): (r.n, round(r.s1, 6), round(r.s2, 6))
            for r in db.session.scalars(select(KpiHourly)) if r.n}


def _facts() -> list:
    return sorted((f.assignment_id, f.source, f.hour, f.at, f.s1, f.s2)
                  for f in db.session.scalars(select(KpiFact)))


def test_a_recount_numbers_hours_like_a_rebuild_on_the_hour_and_just_after(app, ctx):
    jobs = []
    for offset in (timedelta(0), timedelta(microseconds=1), timedelta(minutes=59, seconds=59)):
        jobs.append(taken_work(starts_at=START + offset))
    clock.travel_to(START + timedelta(minutes=20), freeze=True)
    statements = []

    def seen(conn, cursor, statement, *_):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for n, (_, tech, job) in enumerate(jobs):
            outcomes = sync.apply_batch(tech.user, [{
                "key": f"hour-check-{n}", "action": "check_in", "assignment_id": job.id,
                "recorded_at": clock.now().isoformat(), "data": {}}])
            assert outcomes[0].status == 201
            db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    if app.config["BACKEND"] == "postgresql":    # the recount: one statement a commit
        assert len([s for s in statements if "kpi_hourly" in s]) == len(jobs)
        assert [s for s in statements if "DELETE FROM kpi_facts" in s and "WITH" not in s] \
            == []
    hours = {f.assignment_id: f.hour for f in db.session.scalars(
        select(KpiFact).where(KpiFact.source == "arrivals"))}
    on_hour = rollups.hour_of(START)
    assert [hours[job.id] for _, _, job in jobs] == [on_hour, on_hour + 1, on_hour + 1]
    kept, facts = _hourly(), _facts()
    assert kept
    rollups.rebuild()
    db.session.commit()
    assert _hourly() == kept
    assert _facts() == facts


def test_a_recount_that_changes_nothing_moves_no_sum(app, ctx):
    _, tech, job = taken_work()
    clock.travel_to(START + timedelta(minutes=5), freeze=True)
    sync.apply_batch(tech.user, [{"key": "same-check-1", "action": "check_in",
                                  "assignment_id": job.id,
                                  "recorded_at": clock.now().isoformat(), "data": {}}])
    db.session.commit()
    kept = _hourly()
    rollups.touch([job.id])
    rollups.apply_pending()
    db.session.commit()
    assert _hourly() == kept
