"""Assignments: create, publish, budgets, templates, duplicates, CSV bulk creation."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from marketplace.find import csv_import
from marketplace.core import clock
from marketplace.accounts.models import Role
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.find import assignment_templates as templates_svc
from marketplace.find import assignments as svc
from marketplace.find.models import Assignment, AssignmentStatus, Pricing
from tests import factories

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def owner(ctx):
    clock.travel_to(NOW, freeze=True)
    return factories.firm_user(Role.OWNER)


@pytest.fixture
def skill(ctx):
    return factories.SkillFactory(slug="cctv")


def _data(**kw):
    data = {"title": "Install 4 cameras", "address": "2500 Victory Ave, Dallas, TX 75219",
            "start_date": "2030-06-03", "start_time": "09:00", "end_time": "11:00",
            "pricing": "fixed", "rate": "250.00", "radius_km": "40"}
    data.update(kw)
    return data


def test_create_geocodes_the_site_and_stores_the_window_in_utc_with_the_site_timezone(owner,
                                                                                       skill):
    a = svc.create_assignment(owner, _data(skills={skill.id: 3}))
    db.session.commit()
    assert a.status == AssignmentStatus.DRAFT
    assert a.timezone == "America/Chicago"
    assert a.lat == pytest.approx(32.80, abs=0.05)
    assert a.starts_at == datetime(2030, 6, 3, 14, 0, tzinfo=timezone.utc)  # 09:00 CDT
    assert a.ends_at == datetime(2030, 6, 3, 16, 0, tzinfo=timezone.utc)
    assert a.budget_cents == 25000 and a.skill_requirements == {skill.id: 3}


def test_ungeocodable_site_is_a_form_error_and_nothing_is_created(owner):
    with pytest.raises(ValidationFailed) as err:
        svc.create_assignment(owner, _data(address="behind the old barn"))
    assert "address" in err.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_window_must_end_after_it_starts_and_be_in_the_future(owner):
    with pytest.raises(ValidationFailed) as err:
        svc.create_assignment(owner, _data(start_time="11:00", end_time="10:00"))
    assert "end_time" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        svc.create_assignment(owner, _data(start_date="2030-04-01"))
    assert "start_date" in err.value.fields


def test_hourly_and_blended_budgets_are_the_most_the_firm_can_owe(owner):
    hourly = svc.create_assignment(owner, _data(pricing="hourly", rate="", hourly_rate="60",
                                                max_hours="5"))
    assert hourly.budget_cents == 30000 and hourly.pricing == Pricing.HOURLY
    blended = svc.create_assignment(owner, _data(pricing="blended", rate="200",
                                                 fixed_hours="2", hourly_rate="50",
                                                 max_hours="4"))
    assert blended.budget_cents == 20000 + 2 * 5000


def test_dispatcher_budget_limit_caps_the_budget(ctx):
    clock.travel_to(NOW, freeze=True)
    dispatcher = factories.firm_user(Role.DISPATCHER)
    dispatcher.membership.budget_limit_cents = 20000
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        svc.create_assignment(dispatcher, _data(rate="250"))
    assert "rate" in err.value.fields
    a = svc.create_assignment(dispatcher, _data(rate="200"), publish=True)
    assert a.status == AssignmentStatus.PUBLISHED


def test_publish_only_from_draft_and_edit_bumps_the_version(owner):
    a = svc.create_assignment(owner, _data())
    svc.publish_assignment(owner, a)
    with pytest.raises(InvalidState):
        svc.publish_assignment(owner, a)
    version = a.version
    svc.update_assignment(owner, a, _data(title="Install 6 cameras"), expected_version=version)
    assert a.title == "Install 6 cameras" and a.version == version + 1
    with pytest.raises(InvalidState):
        svc.update_assignment(owner, a, _data(), expected_version=version)


def test_technician_cannot_create_assignments(ctx):
    tech = factories.technician()
    with pytest.raises(PermissionDenied):
        svc.create_assignment(tech, _data())


def test_template_and_duplicate_prefill_everything_but_the_date(owner, skill):
    a = svc.create_assignment(owner, _data(skills={skill.id: 2}, checklist="Photo of rack\nTest"))
    template = templates_svc.save_as_template(owner, a, "Camera install")
    db.session.commit()
    for prefill in (templates_svc.prefill_from_template(template), templates_svc.prefill_duplicate(a)):
        assert prefill["start_date"] == "" and prefill["end_date"] == ""
        assert prefill["title"] == "Install 4 cameras"
        assert prefill["start_time"] == "09:00" and prefill["rate_cents"] == 25000
        assert prefill["skills"] == {str(skill.id): 2}
        assert [t["label"] for t in prefill["checklist"]] == ["Photo of rack", "Test"]
        again = svc.create_assignment(owner, {**prefill, "start_date": "2030-07-01"})
        assert again.skill_requirements == {skill.id: 2}
        assert again.starts_at.date().isoformat() == "2030-07-01"


def test_list_filters_by_state_and_search_within_the_firm(owner):
    a = svc.create_assignment(owner, _data(title="Fiber splice"))
    svc.create_assignment(owner, _data(title="Camera install"))
    svc.publish_assignment(owner, a)
    other = factories.firm_user()
    svc.create_assignment(other, _data(title="Fiber elsewhere"))
    db.session.commit()
    titles = lambda **kw: [x.title for x in db.session.scalars(svc.list_assignments(owner, **kw))]  # noqa: E731
    assert titles(q="fiber") == ["Fiber splice"]
    assert titles(status="draft") == ["Camera install"]
    assert sorted(titles()) == ["Camera install", "Fiber splice"]


CSV = """title,address,date,start,end,skills,pricing,rate,hourly_rate,max_hours
Store 101 POS,"100 Main St, Dallas, TX 75201",2030-06-10,08:00,10:00,cctv:2,fixed,300,,
Store 102 POS,nowhere at all,2030-06-10,08:00,10:00,cctv:2,fixed,300,,
Store 103 POS,"Austin, TX",2030-06-11,08:00,10:00,unknown-skill,fixed,300,,
Store 104 POS,"Houston, TX",2030-06-12,13:00,15:00,,hourly,,55,4
Store 105 POS,"Houston, TX",2030-06-12,13:00,12:00,,fixed,300,,
"""


def test_csv_creates_good_rows_and_reports_bad_rows_by_line_creating_nothing_from_them(owner,
                                                                                       skill):
    report = csv_import.import_csv(owner, CSV)
    db.session.commit()
    assert [a.title for a in report.created] == ["Store 101 POS", "Store 104 POS"]
    lines = {line: fields for line, fields in report.errors}
    assert set(lines) == {3, 4, 6}
    assert "address" in lines[3] and "skills" in lines[4] and "end_time" in lines[6]
    titles = set(db.session.scalars(select(Assignment.title)))
    assert titles == {"Store 101 POS", "Store 104 POS"}


def test_csv_without_required_columns_is_rejected(owner):
    with pytest.raises(ValidationFailed) as err:
        csv_import.import_csv(owner, "name,where\nx,y\n")
    assert "file" in err.value.fields
