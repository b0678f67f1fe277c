"""The README's "Try this first" tour is true of the demo: the logins it names see what it
says they see, on the pages it names. Seeds the demo once (on the embedded default)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Firm, User
from marketplace.demo.accounts import DEMO_PASSWORD
from marketplace.extensions import db
from marketplace.find import attention
from marketplace.find.matching import feed_for
from marketplace.find.models import Assignment, AssignmentStatus
from tests import pages

README = Path(__file__).resolve().parent.parent / "README.md"

# What the tour promises, firm by firm (slug: city, technicians who see its open work in
# their feed, and the technicians of its in-progress, submitted and approved work).
FEED = {"northstar": ["tech001", "tech181", "tech021"],
        "lakeshore": ["tech047", "tech052", "tech002"],
        "peachtree": ["tech078", "tech003", "tech013"],
        "frontrange": ["tech079", "tech004"],
        "cascade": ["tech015", "tech025"]}
WORK = {"northstar": ("tech182", "tech181", "tech166"),
        "lakeshore": ("tech199", "tech193", "tech188"),
        "peachtree": ("tech168", "tech163", "tech158"),
        "cascade": ("tech197", "tech170", "tech165")}
WAITING = {"northstar": (["Desktop deployment", "POS register swap", "Wireless AP refresh"],
                         ["POS register swap", "Terminate 24 Cat6 drops",
                          "Wireless AP refresh"]),
           "lakeshore": (["Desktop deployment", "POS register swap", "Rack and stack"],
                         ["Rack and stack"]),
           "peachtree": ([], ["Rack and stack"]),
           "frontrange": ([], []),
           "cascade": (["Install 4 IP cameras"], ["Conference room AV"])}


def _tour() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Try this first")
    return text[start:text.index("\n## ", start)]


@pytest.fixture
def demo(app, ctx):
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the tour is checked once, on the embedded default")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return {f.slug: f for f in db.session.scalars(select(Firm))}


def _tech(name: str):
    return db.session.scalar(select(User).where(
        User.email == f"{name}@onsite.example")).technician


def _client(app, name: str):
    client = app.test_client()
    response = client.post("/login", data={"email": name if "@" in name else
                                           f"{name}@onsite.example",
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def test_the_technicians_named_see_each_firms_work_and_tech001_is_in_dallas(app, demo):
    for slug, names in FEED.items():
        for name in names:
            firms = {item.assignment.firm_id for item in feed_for(_tech(name))}
            assert demo[slug].id in firms, (slug, name)
    tech001 = _tech("tech001")
    assert tech001.city == "Dallas" == demo["northstar"].city
    feed = pages.text(_client(app, "tech001").get("/feed").get_data(as_text=True))
    for title in ("Terminate 24 Cat6 drops", "Wireless AP refresh", "Desktop deployment",
                  "POS register swap"):
        assert title in feed
    assert demo["northstar"].name in feed


def test_the_counteroffers_and_applicants_named_are_waiting(app, demo):
    with app.test_request_context():
        for slug, (counters, applicants) in WAITING.items():
            for key, titles in (("counteroffers", counters), ("applicants", applicants)):
                ids = [row[0] for row in db.session.execute(
                    attention.kind(key).rows(demo[slug].id))]
                assert sorted(db.session.get(Assignment, i).title for i in set(ids)) == \
                    titles, (slug, key)
    dashboard = pages.text(_client(app, "owner@northstar.example").get("/firm")
                           .get_data(as_text=True))
    assert "3 counteroffers to answer" in dashboard


def test_the_work_in_progress_submitted_and_approved_belongs_to_the_logins_named(app, demo):
    for slug, names in WORK.items():
        for state, name in zip((AssignmentStatus.IN_PROGRESS, AssignmentStatus.SUBMITTED,
                                AssignmentStatus.APPROVED), names):
            work = db.session.scalars(select(Assignment).where(
                Assignment.firm_id == demo[slug].id, Assignment.status == state)).all()
            assert [a.assignee_id for a in work] == [_tech(name).id], (slug, state, name)
    today = pages.text(_client(app, "tech182").get("/today").get_data(as_text=True))
    assert "Network closet cleanup" in today


def test_the_readme_names_exactly_these_logins_and_how_to_reset_and_change_the_port():
    tour = _tour()
    named = set(re.findall(r"\btech\d{3}\b", tour))
    promised = {n for names in FEED.values() for n in names} | {
        n for names in WORK.values() for n in names}
    assert named == promised
    for slug in FEED:
        assert f"owner@{slug}.example" in tour
    for counters, applicants in WAITING.values():
        for title in counters + applicants:
            assert title in tour
    assert "make reset-demo" in tour and "instance/marketplace.sqlite3" in tour
    assert "make run PORT=8000" in tour


def test_the_landing_page_promises_only_what_exists(client):
    text = pages.text(client.get("/").get_data(as_text=True))
    assert "paid" not in text.lower()        # payments are not built yet
    for stage in ("Find", "Verify", "Engage", "Manage"):
        assert stage in text
    assert "check in" in text.lower()


def test_the_admin_queue_opens_on_the_renewals_about_to_lapse(app, demo):
    html = _client(app, "admin@onsite.example").get("/verify/review").get_data(as_text=True)
    rows = [pages.text(part) for part in html.split('class="queue-row')[1:]]
    flagged = [r for r in rows if "Renewal: the current one expires" in r]
    assert len(flagged) >= 3
    assert all("Renewal: the current one expires" in r for r in rows[:len(flagged)])
    days = [int(re.search(r"expires in (\d+) days?", r).group(1)) for r in flagged]
    assert days == sorted(days)


def test_the_demo_kpis_read_like_real_work(app, demo):
    """Technicians answer their offers some time after publishing, so "time to fill"
    is never the zero that work created and taken in the same instant would show."""
    from marketplace.manage import kpis
    for slug in WORK:
        figure = {f.kpi.key: f for f in kpis.dashboard(kpis.scope_for(demo[slug].id))}
        fill = figure["time_to_fill"]
        assert fill.count == 3 and fill.value >= 25, (slug, fill)
