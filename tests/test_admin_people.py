"""What the admin's people pages say: users found by name or email, role and status;
the audit log filtered by actor, firm, action, subject and UTC days, a page at a time."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role, TechnicianStatus
from marketplace.core import audit, clock
from marketplace.core.actions import Action
from marketplace.extensions import db
from tests import factories
from tests.pages import links, text

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def people(ctx):
    clock.travel_to(NOW, freeze=True)
    admin = factories.admin(email="admin@example.com", name="Ada Admin")
    owner = factories.firm_user(Role.OWNER, email="olive@northstar.example", name="Olive Owner")
    owner.firm.name = "Northstar"
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm,
                                     email="dan@northstar.example", name="Dan Dispatch")
    other = factories.firm_user(Role.OWNER, email="lee@lakeshore.example", name="Lee Lake")
    other.firm.name = "Lakeshore"
    dana = factories.technician(email="dana@example.com", name="Dana Reyes")
    sam = factories.technician(email="sam@example.com", name="Sam Stone")
    sam.technician.status = TechnicianStatus.SUSPENDED
    gone = factories.firm_user(Role.MANAGER, firm=owner.firm, email="gone@northstar.example",
                               name="Gina Gone")
    gone.is_enabled = False
    db.session.commit()
    return {"admin": admin, "owner": owner, "dispatcher": dispatcher, "other": other,
            "dana": dana, "sam": sam, "gone": gone}


def found(page: str) -> list[str]:
    if 'id="user-results"' not in page:
        return []
    return sorted(re.findall(r'<tr data-user="\d+">\s*<td data-label="Name">(?:<a[^>]*>)?([^<]+)',
                             page))


@pytest.mark.parametrize("query,expected", [
    ("q=dan", ["Dan Dispatch", "Dana Reyes"]),
    ("q=northstar.example", ["Dan Dispatch", "Gina Gone", "Olive Owner"]),
    ("role=technician", ["Dana Reyes", "Sam Stone"]),
    ("role=dispatcher", ["Dan Dispatch"]),
    ("role=firm", ["Dan Dispatch", "Gina Gone", "Lee Lake", "Olive Owner"]),
    ("role=admin", ["Ada Admin"]),
    ("status=suspended", ["Sam Stone"]),
    ("status=disabled", ["Gina Gone"]),
    ("role=technician&status=active", ["Dana Reyes"]),
])
def test_user_search(client, auth, people, query, expected):
    auth.login("admin@example.com")
    page = client.get("/admin/users?" + query).get_data(True)
    assert found(page) == expected
    n = len(expected)
    assert f"{n} {'user' if n == 1 else 'users'}." in text(page, "user-count")


def test_user_rows_say_role_firm_and_status_and_link_technicians(client, auth, people):
    auth.login("admin@example.com")
    page = client.get("/admin/users").get_data(True)
    rows = text(page, "user-results")
    assert "Dispatcher at Northstar" in rows and "Owner at Lakeshore" in rows
    assert "Platform admin" in rows
    result = links(page, "user-results")
    assert result["Dana Reyes"] == f"/technicians/{people['dana'].technician.id}"
    assert result["Sam Stone"] == f"/technicians/{people['sam'].technician.id}"
    sam_row = rows[rows.index("Sam Stone"):]
    assert "Suspended" in sam_row.split("\n")[0] + sam_row
    gina = rows[rows.index("Gina Gone"):rows.index("Lee Lake")]
    assert "Disabled" in gina


@pytest.mark.parametrize("query,message", [
    ("role=wizard", "Choose a role from the list."),
    ("status=asleep", "Choose a status from the list."),
])
def test_bad_user_filters_say_why(client, auth, people, query, message):
    auth.login("admin@example.com")
    response = client.get("/admin/users?" + query)
    assert response.status_code == 200
    assert message in text(response.get_data(True))
    assert found(response.get_data(True)) == []


def _log(people):
    """A week of audit rows by different people for two firms."""
    owner, other, admin = people["owner"], people["other"], people["admin"]
    dana = people["dana"].technician
    rows = [
        (0, Action.MEMBER_INVITED, owner, owner.firm.id, owner.membership, {"role": "dispatcher"}),
        (1, Action.ASSIGNMENT_CREATED, owner, owner.firm.id, owner.membership, None),
        (2, Action.ASSIGNMENT_CREATED, other, other.firm.id, other.membership, None),
        (3, Action.TECHNICIAN_SUSPENDED, admin, None, dana, {"status": "suspended"}),
        (5, Action.TECHNICIAN_REINSTATED, admin, None, dana, {"status": "active"}),
    ]
    for days, action, actor, firm_id, subject, after in rows:
        clock.travel_to(NOW + timedelta(days=days), freeze=True)
        audit.record(action, subject, actor=actor, firm_id=firm_id,
                     before={"status": "active"} if after and "status" in after else None,
                     after=after)
        db.session.flush()                  # (the row takes its time when it is written)
    db.session.commit()
    clock.travel_to(NOW + timedelta(days=6), freeze=True)


def entries(page: str) -> list[str]:
    if 'id="audit-results"' not in page:
        return []
    return re.findall(r'<td data-label="Action"><a[^>]*>([^<]+)</a>', page)


@pytest.mark.parametrize("query,expected", [
    ("", ["technician.reinstated", "technician.suspended", "assignment.created",
          "assignment.created", "member.invited"]),
    ("actor=olive@northstar.example", ["assignment.created", "member.invited"]),
    ("actor=Ada", ["technician.reinstated", "technician.suspended"]),
    ("firm=Lakeshore", ["assignment.created"]),
    ("action=assignment.created", ["assignment.created", "assignment.created"]),
    ("subject=technicians&subject_id={dana}", ["technician.reinstated", "technician.suspended"]),
    ("since=2030-05-02&until=2030-05-04", ["technician.suspended", "assignment.created",
                                           "assignment.created"]),
    ("until=2030-05-01", ["member.invited"]),
])
def test_the_audit_log_filters(client, auth, people, query, expected):
    _log(people)
    auth.login("admin@example.com")
    url = "/admin/audit?" + query.format(dana=people["dana"].technician.id)
    page = client.get(url).get_data(True)
    assert entries(page) == expected
    n = len(expected)
    assert f"{n} {'entry' if n == 1 else 'entries'}, newest first." in text(page, "audit-count")


def test_audit_rows_name_who_did_what_to_whom(client, auth, people):
    _log(people)
    auth.login("admin@example.com")
    page = client.get("/admin/audit?action=technician.suspended").get_data(True)
    row = text(page, "audit-results")
    assert "Ada Admin" in row and "status: active → suspended" in row
    assert links(page, "audit-results")[f"technician #{people['dana'].technician.id}"] == \
        f"/technicians/{people['dana'].technician.id}"
    firm_page = client.get("/admin/audit?firm=Northstar").get_data(True)
    assert links(firm_page, "audit-results")["Northstar"] == \
        f"/admin/audit?firm=%23{people['owner'].firm.id}"


def test_the_audit_log_is_paginated(client, auth, people):
    _log(people)
    auth.login("admin@example.com")
    first = client.get("/admin/audit?per_page=2").get_data(True)
    assert entries(first) == ["technician.reinstated", "technician.suspended"]
    assert "Page 1 of 3 · 5 in all" in text(first)
    second = client.get(links(first)["Next →"]).get_data(True)
    assert entries(second) == ["assignment.created", "assignment.created"]


@pytest.mark.parametrize("query,message", [
    ("since=yesterday", "Use a date like 2026-03-31."),
    ("since=2030-05-05&until=2030-05-01", "The end of the range comes before its start."),
    ("action=made.up", "Choose an action from the list."),
    ("subject_id=abc", "A subject id is a whole number."),
])
def test_bad_audit_filters_say_why(client, auth, people, query, message):
    auth.login("admin@example.com")
    response = client.get("/admin/audit?" + query)
    assert response.status_code == 200
    assert message in text(response.get_data(True))
    assert entries(response.get_data(True)) == []


def test_only_admins_see_people_pages(client, auth, people):
    auth.login("olive@northstar.example")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/audit").status_code == 403
