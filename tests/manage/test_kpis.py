"""KPIs equal hand-computed values on a fixed fixture (timezones, revisits, backouts, SLA);
each figure links to the assignments it counts; the board puts what needs attention first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.core import clock
from marketplace.engage.models import Backout
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.manage import board, kpis
from marketplace.manage.models import Arrival, SlaEvent, Visit, WorkRecord
from tests import factories, pages
from tests.find.helpers import make_assignment

END = datetime(2030, 7, 1, 12, 0, tzinfo=timezone.utc)


def _job(owner, tech, start, *, arrival=None, approved=None, revisits=0, minutes=0,
         status=S.APPROVED, tz="America/Chicago", sla=False):
    a = make_assignment(owner, starts_at=start, status=status,
                        sla_arrival_minutes=15 if sla else None)
    a.assignee_id, a.timezone = tech.id, tz
    a.published_at = start - timedelta(days=2)
    db.session.add(WorkRecord(assignment_id=a.id, technician_id=tech.id, arrival=arrival,
                              revisits=revisits, approved_at=approved,
                              first_checkin_at=start if arrival != Arrival.NO_SHOW else None))
    if minutes:
        db.session.add(Visit(assignment_id=a.id, technician_id=tech.id, number=1,
                             checkin_at=start, checkin_received_at=start,
                             checkout_at=start + timedelta(minutes=minutes),
                             checkin_geofence="inside"))
    db.session.commit()
    return a


@pytest.fixture
def history(app, ctx):
    clock.travel_to(END, freeze=True)
    owner = factories.firm_user()
    tech = factories.technician().technician
    other = factories.technician().technician
    week = timedelta(days=7)
    # Within the 4 weeks before END: 3 on time, 1 late, 1 no-show (another technician).
    a1 = _job(owner, tech, END - 3 * week, arrival=Arrival.ON_TIME, approved=END - 3 * week,
              minutes=90)
    a2 = _job(owner, tech, END - 2 * week, arrival=Arrival.ON_TIME,
              approved=END - 2 * week + timedelta(days=1), revisits=1, minutes=150, sla=True)
    a3 = _job(owner, tech, END - week, arrival=Arrival.LATE, approved=END - week, minutes=60,
              tz="America/Los_Angeles", sla=True)
    a4 = _job(owner, other, END - week + timedelta(days=2), arrival=Arrival.NO_SHOW,
              status=S.ASSIGNED)
    a5 = _job(owner, tech, END - timedelta(days=2), arrival=Arrival.ON_TIME,
              status=S.IN_PROGRESS)
    # Outside the period: ignored.
    _job(owner, tech, END - 10 * week, arrival=Arrival.LATE, approved=END - 10 * week)
    db.session.add(SlaEvent(assignment_id=a3.id, kind="arrival", state="breach", at=END))
    db.session.add(Backout(assignment_id=a4.id, technician_id=tech.id, reason="sick",
                           hours_before_start=6))
    db.session.commit()
    return owner, tech, [a1, a2, a3, a4, a5]


def test_figures_equal_hand_computed_values(history):
    owner, tech, jobs = history
    scope = kpis.scope_for(owner.firm.id, 4)
    figures = {f.kpi.key: f for f in kpis.dashboard(scope)}
    assert figures["on_time"].count == 5 and figures["on_time"].value == pytest.approx(3 / 5)
    assert figures["no_show"].value == pytest.approx(1 / 5)
    # Approved in the period: a1, a2 (sent back once), a3 -> 2 of 3 first time.
    assert figures["first_time"].count == 3
    assert figures["first_time"].value == pytest.approx(2 / 3)
    # Average time on site of those approved: (90 + 150 + 60) / 3 = 100 minutes.
    assert figures["time_on_site"].value == pytest.approx(100)
    # SLA: a2 and a3 carry targets; a3 breached.
    assert figures["sla"].count == 2 and figures["sla"].value == pytest.approx(0.5)
    # Taken jobs that started in the period: a1, a2, a3, a4, a5 plus one backout (a4's).
    assert figures["backout"].value == pytest.approx(1 / 6)
    assert figures["late_backout"].value == pytest.approx(1 / 6)
    assert figures["on_time"].display == "60%"
    weekly = [n for _, _, n in figures["on_time"].weekly]
    assert sum(weekly) == 5 and len(weekly) == 4


def test_per_technician_and_drill_down(history):
    owner, tech, jobs = history
    scope = kpis.scope_for(owner.firm.id, 4, technician_id=tech.id)
    on_time = kpis.compute(kpis.BY_KEY["on_time"], scope)
    assert on_time.count == 4 and on_time.value == pytest.approx(3 / 4)
    counted = kpis.counted(kpis.BY_KEY["on_time"], scope)
    assert sorted(a.id for a, _ in counted) == sorted(j.id for j in jobs if j.id != jobs[3].id)


def test_the_kpi_pages_and_csv(history, client, auth):
    owner, tech, jobs = history
    auth.login(owner.email, factories.PASSWORD)
    page = client.get("/kpis?weeks=4").get_data(as_text=True)
    assert "On-time arrival rate" in page and "60%" in page and "<svg" in page
    assert "Of the jobs approved in the period" in page
    detail = client.get("/kpis/no_show?weeks=4").get_data(as_text=True)
    assert jobs[3].title in detail
    csv = client.get("/kpis/on_time.csv?weeks=4")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("week_starting,On-time arrival rate (%),counted")
    assert len(lines) == 5
    assert client.get("/kpis/nope").status_code == 404


def test_the_kpi_page_narrows_by_technician_name_and_site_from_lists(history, client, auth):
    owner, tech, jobs = history
    auth.login(owner.email, factories.PASSWORD)
    page = client.get("/kpis?weeks=4").get_data(as_text=True)
    held = {j.assignee for j in jobs if j.assignee_id}      # both technicians who held work
    assert len(held) == 2
    assert pages.options(page, "technician_id") == [("Everyone", "", False)] + sorted(
        (f"{t.name} · #{t.id}", str(t.id), False) for t in held)
    sites = [label for label, _, _ in pages.options(page, "site")]
    assert sites == ["Every site"] + sorted({j.address for j in jobs if j.assignee_id})
    narrowed = client.get(f"/kpis?weeks=4&technician_id={tech.id}").get_data(as_text=True)
    assert (f"{tech.name} · #{tech.id}", str(tech.id), True) in \
        pages.options(narrowed, "technician_id")
    assert "of 4 jobs" in pages.text(narrowed, "kpi-on_time")


def test_board_puts_late_work_first(app, ctx):
    now = datetime(2030, 6, 3, 16, 0, tzinfo=timezone.utc)
    clock.travel_to(now, freeze=True)
    owner = factories.firm_user()
    tech = factories.technician().technician
    calm = make_assignment(owner, starts_at=now + timedelta(hours=6), status=S.ASSIGNED,
                           title="Later today")
    calm.assignee_id = tech.id
    late = make_assignment(owner, starts_at=now - timedelta(minutes=40), status=S.ASSIGNED,
                           title="Should be on site")
    late.assignee_id = tech.id
    unfilled = make_assignment(owner, starts_at=now + timedelta(hours=2), status=S.PUBLISHED,
                               title="Nobody yet")
    db.session.commit()
    rows = board.rows_for(owner.firm.id, "America/Chicago", now)
    assert [r.assignment.title for r in rows] == ["Should be on site", "Nobody yet",
                                                  "Later today"]
    assert rows[0].flags == ["late"] and rows[1].flags == ["unfilled_soon"]
    data = board.as_json(rows)
    assert data["attention"] == 2 and data["counts"] == {"assigned": 2, "published": 1}
    assert unfilled.id in [r["id"] for r in data["rows"]]


def test_weeks_are_whole_seven_day_buckets_counted_back_from_the_end(app, ctx):
    clock.travel_to(END, freeze=True)
    owner = factories.firm_user()
    tech = factories.technician().technician
    # 4 days before the end falls in the last week; 27 days before, in the first of four.
    _job(owner, tech, END - timedelta(days=4), arrival=Arrival.ON_TIME)
    _job(owner, tech, END - timedelta(days=27), arrival=Arrival.LATE)
    _job(owner, tech, END - timedelta(days=29), arrival=Arrival.LATE)   # before the period
    figure = kpis.compute(kpis.BY_KEY["on_time"], kpis.scope_for(owner.firm.id, 4))
    assert [n for _, _, n in figure.weekly] == [1, 0, 0, 1]
    assert figure.count == 2 and figure.value == pytest.approx(1 / 2)


def test_the_board_runs_the_same_statements_for_three_times_the_rows(app, ctx):
    """Its rows and their JSON (what the page refreshes): no statement per row."""
    from sqlalchemy import event

    from marketplace.accounts.models import User
    now = datetime(2030, 6, 3, 16, 0, tzinfo=timezone.utc)
    clock.travel_to(now, freeze=True)
    owner = factories.firm_user()
    owner_id, firm_id = owner.id, owner.firm.id

    def add_jobs(n):
        owner = db.session.get(User, owner_id)
        for i in range(n):   # late, assigned later today, unfilled: each with SLA clocks
            for start, status in ((now - timedelta(minutes=40), S.ASSIGNED),
                                  (now + timedelta(hours=6), S.ASSIGNED),
                                  (now + timedelta(hours=2), S.PUBLISHED)):
                job = make_assignment(owner, starts_at=start, status=status,
                                      sla_arrival_minutes=15, sla_completion_minutes=60)
                if status == S.ASSIGNED:
                    job.assignee_id = factories.technician().technician.id
        db.session.commit()

    def statements():
        db.session.close()     # nothing loaded beforehand
        seen = []
        listener = lambda *args: seen.append(1)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = board.rows_for(firm_id, "America/Chicago", now)
            data = board.as_json(rows)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert all(r["technician"] for r in data["rows"] if r["status"] == "assigned")
        db.session.rollback()
        return len(rows), len(seen)

    add_jobs(2)
    shown, few = statements()
    add_jobs(4)
    shown_more, more = statements()
    assert (shown, shown_more) == (6, 18)
    assert more == few


def test_a_job_on_the_periods_edge_counts_where_its_drill_down_lists_it(app, ctx):
    """The period is (start, end]: weeks count back from the end, so a job starting at
    the very start belongs to the week before the period, and one at the end to the last."""
    clock.travel_to(END, freeze=True)
    owner = factories.firm_user()
    tech = factories.technician().technician
    _job(owner, tech, END - timedelta(weeks=4), arrival=Arrival.ON_TIME)
    _job(owner, tech, END - timedelta(weeks=1), arrival=Arrival.LATE)
    _job(owner, tech, END, arrival=Arrival.LATE)
    scope = kpis.scope_for(owner.firm.id, 4)
    figure = kpis.compute(kpis.BY_KEY["on_time"], scope)
    assert figure.count == len(kpis.counted(kpis.BY_KEY["on_time"], scope)) == 2
    assert [n for _, _, n in figure.weekly] == [0, 0, 1, 1]
