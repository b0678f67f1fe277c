"""The board's page and its refresh stay within the pages' statement budget, whatever
the number of jobs: one statement reads the jobs and judges their flags."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import event

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from tests import factories
from tests.find.helpers import make_assignment
from tests.test_query_counts import MAX_STATEMENTS

NOW = datetime(2030, 6, 3, 16, 0, tzinfo=timezone.utc)


def test_the_board_page_and_its_refresh_run_few_statements(app, ctx, client, auth):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user()

    def add_jobs(n):
        for _ in range(n):
            job = make_assignment(owner, starts_at=NOW - timedelta(minutes=40),
                                  status=S.ASSIGNED, sla_arrival_minutes=15)
            job.assignee_id = factories.technician().technician.id
            make_assignment(owner, starts_at=NOW + timedelta(hours=2))
        db.session.commit()

    def statements(path):
        client.get(path)        # warm-up: once-a-minute writes, first loads
        seen = []
        listener = lambda *args: seen.append(1)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get(path)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen), response

    auth.login(owner.email)
    add_jobs(2)
    few = {path: statements(path)[0] for path in ("/board", "/board.json")}
    add_jobs(4)
    more = {path: statements(path)[0] for path in ("/board", "/board.json")}
    assert more == few and max(more.values()) <= MAX_STATEMENTS
    data = statements("/board.json")[1].get_json()
    assert data["attention"] == 12 and data["counts"] == {"assigned": 6, "published": 6}
    assert {tuple(r["flags"]) for r in data["rows"]} == {("late", "sla_breached"),
                                                         ("unfilled_soon",)}
