"""The admin review queue at scale: urgent renewals first, then the oldest; filters by
credential type, kind and age, each with its count (from one statement); pages."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.verify.models import Credential, CredentialKind, CredentialStatus
from tests import factories, pages
from tests.verify.helpers import ctype

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
TODAY = NOW.date()


def _pending(tech, t, *, hours_ago: float, renews: Credential | None = None) -> Credential:
    c = Credential(technician_id=tech.technician.id, credential_type_id=t.id,
                   status=CredentialStatus.PENDING, expires_on=date(2028, 1, 1),
                   submitted_at=NOW - timedelta(hours=hours_ago),
                   supersedes_id=renews.id if renews else None)
    db.session.add(c)
    db.session.flush()
    return c


def _current(tech, t, expires_on: date, status=CredentialStatus.APPROVED) -> Credential:
    c = Credential(technician_id=tech.technician.id, credential_type_id=t.id, status=status,
                   expires_on=expires_on, submitted_at=NOW - timedelta(days=400))
    db.session.add(c)
    db.session.flush()
    return c


@pytest.fixture
def admin_client(app, ctx, client):
    clock.travel_to(NOW, freeze=True)
    admin = factories.admin()
    db.session.commit()
    client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    return client


def _queue_names(html: str) -> list[str]:
    """Technician names in the queue's rows, top to bottom."""
    return re.findall(r'<span class="who">([^<]+)</span>', html)


def test_renewal_expiring_soonest_comes_first_then_the_oldest_submissions(admin_client):
    gl = ctype("General liability insurance")
    people = {name: factories.technician(name=name) for name in
              ("Ann Oldest", "Ben Six Days", "Cat Twenty Days", "Dan Far Renewal", "Eve New",
               "Fay Lapsed")}
    _pending(people["Ann Oldest"], gl, hours_ago=24 * 5)
    _pending(people["Ben Six Days"], gl, hours_ago=1,
             renews=_current(people["Ben Six Days"], gl, TODAY + timedelta(days=6)))
    _pending(people["Cat Twenty Days"], gl, hours_ago=20,
             renews=_current(people["Cat Twenty Days"], gl, TODAY + timedelta(days=20)))
    _pending(people["Dan Far Renewal"], gl, hours_ago=48,
             renews=_current(people["Dan Far Renewal"], gl, TODAY + timedelta(days=200)))
    _pending(people["Eve New"], gl, hours_ago=2)
    _pending(people["Fay Lapsed"], gl, hours_ago=3, renews=_current(
        people["Fay Lapsed"], gl, TODAY - timedelta(days=2), CredentialStatus.EXPIRED))
    db.session.commit()

    html = admin_client.get("/verify/review").get_data(as_text=True)
    assert _queue_names(html) == ["Fay Lapsed", "Ben Six Days", "Cat Twenty Days",
                                  "Ann Oldest", "Dan Far Renewal", "Eve New"]
    rows = pages.text(html, "queue")
    assert "Renewal: the current one expires in 6 days" in rows
    assert "Renewal: the current one expired 2 days ago" in rows
    assert "expires in 200 days" not in rows   # not urgent: no flag, ordered by age


def test_filters_show_their_counts_and_narrow_the_list(admin_client):
    gl = ctype("General liability insurance")
    osha = ctype("OSHA 10", kind=CredentialKind.CERTIFICATION)
    lv = ctype("Low-voltage licence", kind=CredentialKind.LICENCE)
    techs = [factories.technician(name=f"Tech {i}") for i in range(7)]
    for tech, t, hours in [(techs[0], gl, 2), (techs[1], gl, 30), (techs[2], gl, 24 * 10),
                           (techs[3], osha, 5), (techs[4], osha, 24 * 4),
                           (techs[5], lv, 60)]:
        _pending(tech, t, hours_ago=hours)
    db.session.add(Credential(technician_id=techs[6].technician.id, credential_type_id=gl.id,
                              status=CredentialStatus.APPROVED, expires_on=date(2027, 1, 1)))
    db.session.commit()

    html = admin_client.get("/verify/review").get_data(as_text=True)
    facets = pages.text(html, "queue-filters")
    for line in ("All types 6", "General liability insurance 3", "OSHA 10 2",
                 "Low-voltage licence 1", "All kinds 6", "Insurance 3", "Certification 2",
                 "Licence 1", "Any age 6", "Under a day 2", "1–3 days 2", "3–7 days 1",
                 "Over a week 1"):
        assert line in facets.splitlines(), (line, facets)
    assert "6 waiting" in pages.text(html, "queue-summary")

    # Insurance only: the list narrows and the other facets count within it.
    html = admin_client.get("/verify/review?kind=insurance").get_data(as_text=True)
    assert sorted(_queue_names(html)) == ["Tech 0", "Tech 1", "Tech 2"]
    facets = pages.text(html, "queue-filters").splitlines()
    assert "Under a day 1" in facets and "1–3 days 1" in facets and "Over a week 1" in facets
    assert "3–7 days 0" in facets
    # Each facet counts within the other filters but not its own: what choosing shows.
    assert "General liability insurance 3" in facets and "OSHA 10 0" in facets
    assert "Insurance 3" in facets and "Certification 2" in facets
    assert "3 waiting" in pages.text(html, "queue-summary")

    # Two filters together; the links keep the other filters.
    html = admin_client.get("/verify/review?kind=insurance&age=days").get_data(as_text=True)
    assert _queue_names(html) == ["Tech 1"]
    links = pages.links(html, "queue-filters")
    assert "age=days" in links["OSHA 10 0"] and "kind=insurance" in links["OSHA 10 0"]
    assert "kind=insurance" in links["Over a week 1"]

    html = admin_client.get(f"/verify/review?type={osha.id}").get_data(as_text=True)
    assert sorted(_queue_names(html)) == ["Tech 3", "Tech 4"]


def test_the_counts_come_from_one_statement_whatever_the_number_of_types(admin_client):
    techs = [factories.technician() for _ in range(3)]
    for i in range(9):
        _pending(techs[i % 3], ctype(f"Type {i}"), hours_ago=i * 20)
    db.session.commit()
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = admin_client.get("/verify/review").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "All types 9" in pages.text(html, "queue-filters").splitlines()
    grouped = [s for s in statements if "GROUP BY" in s.upper() and "credentials" in s]
    assert len(grouped) == 1, grouped


def test_the_queue_pages_and_the_pager_keeps_the_filters(admin_client):
    from marketplace.verify.views import REVIEW_PAGE
    gl = ctype("General liability insurance")
    tech = factories.technician()
    for i in range(REVIEW_PAGE + 5):
        _pending(tech, gl, hours_ago=200 - i)
    db.session.commit()
    html = admin_client.get("/verify/review?kind=insurance").get_data(as_text=True)
    assert len(_queue_names(html)) == REVIEW_PAGE
    text = pages.text(html)
    assert f"Page 1 of 2 · {REVIEW_PAGE + 5} in all" in text
    nxt = pages.links(html)["Next →"]
    assert "page=2" in nxt and "kind=insurance" in nxt
    html = admin_client.get(nxt).get_data(as_text=True)
    assert len(_queue_names(html)) == 5


@pytest.mark.parametrize("query, field", [("kind=bogus", "kind"), ("age=ancient", "age"),
                                          ("type=abc", "type"), ("page=0", "page")])
def test_a_bad_filter_is_a_clear_error_not_a_crash(admin_client, query, field):
    response = admin_client.get(f"/verify/review?{query}")
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
