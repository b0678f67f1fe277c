"""What find's screens say: the dashboards' panels, who has an assignment, counts in words,
the arrival window's bounds, and the CSV page on a phone."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.find import assignments as svc
from marketplace.find.matching import feed_for, rebuild_index
from marketplace.find.models import AssignmentStatus, ScheduleKind
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.pages import links, text

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)


def in_order(page_text: str, titles: list[str]) -> list[str]:
    """Those of `titles` the text shows, in the order it shows them."""
    return sorted((t for t in titles if t in page_text), key=page_text.index)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    skill = factories.SkillFactory(name="CCTV")
    tech = tech_at(DALLAS[0] + 0.02, DALLAS[1], skills={skill.id: 3}, email="tech@example.com",
                   name="Tess Tech")
    rebuild_index()
    db.session.commit()
    return {"owner": owner, "skill": skill, "tech": tech}


def test_firm_dashboard_lists_the_firms_own_assignments_by_title(client, auth, world):
    owner = world["owner"]
    make_assignment(owner, title="Install 8 cameras", starts_at=NOW + timedelta(days=2))
    make_assignment(owner, title="Pull cable to IDF", status=AssignmentStatus.DRAFT,
                    starts_at=NOW + timedelta(days=5))
    make_assignment(owner, title="Last year's survey", starts_at=NOW - timedelta(days=300))
    make_assignment(factories.firm_user(), title="Another firm's job",
                    starts_at=NOW + timedelta(days=1))
    auth.login("owner@example.com")
    page = client.get("/firm").get_data(True)
    panel = text(page, "firm-assignments")
    assert "No assignments yet." not in panel
    listed = in_order(panel, ["Install 8 cameras", "Pull cable to IDF", "Last year's survey",
                              "Another firm's job"])
    assert listed == ["Install 8 cameras", "Pull cable to IDF"]     # soonest first, own only
    assert "2 published" in panel and "1 draft" in panel
    assert links(page, "firm-assignments")["2 published"] == "/assignments?status=published"


def test_technician_dashboard_shows_the_first_jobs_of_the_feed(client, auth, world):
    owner = world["owner"]
    for i, title in enumerate(["Nearest job", "Second job", "Third job", "Fourth job"]):
        make_assignment(owner, title=title, lat=DALLAS[0] + 0.02 + 0.01 * i,
                        skills={world["skill"].id: 1},
                        starts_at=NOW + timedelta(days=2 + i))
    expected = [item.assignment.title for item in feed_for(world["tech"])][:3]
    assert expected == ["Nearest job", "Second job", "Third job"]
    auth.login("tech@example.com")
    panel = text(client.get("/tech").get_data(True), "work-near-you")
    assert in_order(panel, ["Nearest job", "Second job", "Third job", "Fourth job"]) == expected


def test_assigned_work_names_its_technician_and_stops_listing_matches(client, auth, world):
    owner, tech = world["owner"], world["tech"]
    open_job = make_assignment(owner, title="Open job", skills={world["skill"].id: 1},
                               starts_at=NOW + timedelta(days=3))
    taken = make_assignment(owner, title="Taken job", skills={world["skill"].id: 1},
                            status=AssignmentStatus.ASSIGNED, assignee_id=tech.id,
                            starts_at=NOW + timedelta(days=4))
    auth.login("owner@example.com")
    open_page = client.get(f"/assignments/{open_job.id}").get_data(True)
    assert "Matching technicians" in open_page and "Tess Tech" in text(open_page)
    assert "Assigned to" not in text(open_page)

    page = client.get(f"/assignments/{taken.id}").get_data(True)
    assert "Matching technicians" not in page
    assert "Assigned to\nTess Tech" in text(page)
    href = links(page)["Tess Tech"]
    assert href == f"/technicians/{tech.id}"
    profile = client.get(href).get_data(True)
    assert "Tess Tech" in text(profile) and "1 assignment with you: 1 assigned." in text(profile)


def test_csv_upload_says_how_many_in_words_that_agree(client, auth, world):
    auth.login("owner@example.com")
    data = ("title,address,date,start,end,rate\n"
            "Good,\"Austin, TX\",2030-06-04,09:00,10:00,90\nBad,nowhere,2030-06-04,09:00,10:00,90\n")
    body = client.post("/assignments/import", data={"file": (io.BytesIO(data.encode()), "a.csv")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(True)
    assert "1 assignment created; 1 row needs fixing." in text(body)


def _window(owner, start: str, end: str, kind: str = "window", end_date: str | None = None):
    return svc.create_assignment(owner, {
        "title": "Survey", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "end_date": end_date, "start_time": start, "end_time": end, "rate": "200",
        "schedule_kind": kind})


@pytest.mark.parametrize("start,end", [("09:00", "13:00"), ("08:00", "20:00"), ("09:00", "09:30")])
def test_an_arrival_window_runs_one_to_three_hours(world, start, end):
    with pytest.raises(ValidationFailed) as err:
        _window(world["owner"], start, end)
    assert err.value.fields["end_time"] == ("An arrival window runs 1 to 3 hours; for longer, "
                                            "choose a flexible range.")
    db.session.rollback()


def test_one_and_three_hour_windows_and_long_flexible_ranges_are_accepted(world):
    assert _window(world["owner"], "09:00", "10:00").ends_at.hour == 15     # 10:00 CDT
    assert _window(world["owner"], "09:00", "12:00").schedule_kind == ScheduleKind.WINDOW
    flexible = _window(world["owner"], "08:00", "17:00", kind="flexible", end_date="2030-06-04")
    assert flexible.ends_at - flexible.starts_at == timedelta(days=1, hours=9)


def test_the_api_and_the_form_say_the_same_about_the_window(client, auth, world):
    from marketplace.accounts.tokens import issue_api_token
    _, token = issue_api_token(world["owner"], "t")
    db.session.commit()
    r = client.post("/api/v1/assignments", headers={"Authorization": f"Bearer {token}"}, json={
        "title": "Survey", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
        "start_time": "08:00", "end_time": "16:00", "rate": "200"})
    assert r.status_code == 422
    assert r.json["error"]["fields"]["end_time"].startswith("An arrival window runs 1 to 3 hours")
    auth.login("owner@example.com")
    form = text(client.get("/assignments/new").get_data(True))
    assert "An arrival window runs 1 to 3 hours" in form
