"""What the compliance report says: for a firm, the technicians it works with against
each requirement set (counts that link to the technicians they count), what expires in
30/60/90 days, booked work whose technician will not meet its set on its day, and a CSV
with no formula cells; for an admin, every technician against the platform's sets."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.engage.models import Offer
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus, PoolMember, PoolMemberStatus, TalentPool
from marketplace.verify.models import CredentialKind, RequirementItem, RequirementSet
from tests import factories
from tests.find.helpers import DALLAS, give_credential, make_assignment, tech_at
from tests.pages import links, text
from tests.verify.helpers import ctype

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)
TODAY = NOW.date()


def _set(name: str, *types, firm=None) -> RequirementSet:
    rs = RequirementSet(name=name, firm_id=firm.id if firm else None)
    db.session.add(rs)
    db.session.flush()
    for t in types:
        db.session.add(RequirementItem(requirement_set_id=rs.id, credential_type_id=t.id))
    db.session.commit()
    return rs


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    other = factories.firm_user(Role.OWNER, email="other@example.com")
    admin = factories.admin(email="admin@example.com")
    insurance = ctype("General liability insurance")
    background = ctype("Background check", kind=CredentialKind.BACKGROUND_CHECK, expires=False)
    insured = _set("Insured", insurance, firm=owner.firm)
    checked = _set("Background checked", background)           # a platform set
    _set("Another firm's set", insurance, firm=other.firm)
    dana = tech_at(*DALLAS, name="Dana Reyes")
    dale = tech_at(*DALLAS, name="Dale Ortiz")
    rita = tech_at(*DALLAS, name="Rita Vance")
    evil = tech_at(*DALLAS, name="=HYPERLINK(\"http://x.example\",\"Zed\")")
    ana = tech_at(*DALLAS, name="Ana Park")                    # works with another firm only
    give_credential(dana, insurance, expires_on=TODAY + timedelta(days=20))
    give_credential(dana, background, expires_on=None)
    give_credential(dale, insurance, expires_on=TODAY - timedelta(days=3))
    give_credential(rita, insurance, expires_on=TODAY + timedelta(days=45))
    give_credential(ana, insurance, expires_on=TODAY + timedelta(days=10))
    pool = TalentPool(firm_id=owner.firm.id, name="Regulars")
    theirs = TalentPool(firm_id=other.firm.id, name="Theirs")
    db.session.add_all([pool, theirs])
    db.session.flush()
    db.session.add_all([PoolMember(pool_id=pool.id, technician_id=t.id,
                                   status=PoolMemberStatus.ACTIVE) for t in (dana, rita, evil)]
                       + [PoolMember(pool_id=theirs.id, technician_id=ana.id,
                                     status=PoolMemberStatus.ACTIVE)])
    offered = make_assignment(owner, title="Offered job", starts_at=NOW + timedelta(days=9))
    db.session.add(Offer(assignment_id=offered.id, technician_id=dale.id, price_cents=100,
                         expires_at=NOW + timedelta(days=1)))
    db.session.commit()
    # Dana's insurance lapses on day 20: fine for day 10's work, not for day 40's.
    make_assignment(owner, title="Fine job", status=AssignmentStatus.ASSIGNED,
                    assignee_id=dana.id, requirement_set_id=insured.id,
                    starts_at=NOW + timedelta(days=10))
    make_assignment(owner, title="Late job", status=AssignmentStatus.ASSIGNED,
                    assignee_id=dana.id, requirement_set_id=insured.id,
                    starts_at=NOW + timedelta(days=40))
    # Dale's lapsed already, on work under way.
    make_assignment(owner, title="Running job", status=AssignmentStatus.IN_PROGRESS,
                    assignee_id=dale.id, requirement_set_id=insured.id,
                    starts_at=NOW - timedelta(hours=1))
    make_assignment(other, title="Their risky job", status=AssignmentStatus.ASSIGNED,
                    assignee_id=dale.id, requirement_set_id=insured.id,
                    starts_at=NOW + timedelta(days=2))
    return {"owner": owner, "admin": admin, "insured": insured, "checked": checked,
            "dana": dana, "dale": dale, "rita": rita, "evil": evil, "ana": ana}


def _rows(page: str) -> list[str]:
    """The technician rows of the list, one line of text each."""
    body = text(page, "technician-list")
    return [line for line in body.split("\n") if line]


def test_the_firm_report_counts_its_technicians_against_each_set(client, auth, world):
    auth.login("owner@example.com")
    page = client.get("/verify/compliance").get_data(True)
    assert "4 technicians you work with" in text(page, "report-scope")
    summary = text(page, "set-summary")
    assert "Insured\n2 of 4\nmeet it · 2 do not" in summary
    assert "Background checked\n1 of 4\nmeet it · 3 do not" in summary
    assert "Another firm's set" not in page
    listed = text(page, "technician-list")
    for name in ("Dana Reyes", "Dale Ortiz", "Rita Vance"):
        assert name in listed
    assert "Ana Park" not in page
    tile = links(page, "set-summary")
    assert tile["2 of 4"] == f"/verify/compliance?set={world['insured'].id}&status=compliant"
    meeting = client.get(tile["2 of 4"]).get_data(True)
    assert "Meeting Insured" in text(meeting)
    assert [n for n in ("Dana Reyes", "Dale Ortiz", "Rita Vance")
            if n in text(meeting, "technician-list")] == ["Dana Reyes", "Rita Vance"]
    not_meeting = client.get(tile["2 do not"]).get_data(True)
    found = text(not_meeting, "technician-list")
    assert "Dale Ortiz" in found and "Dana Reyes" not in found and "Rita Vance" not in found
    assert links(not_meeting, "technician-list")["Dale Ortiz"] == \
        f"/technicians/{world['dale'].id}"


def _row(page: str, tech) -> str:
    """The text of a technician's row of the list, on one line."""
    row = re.search(rf'<tr data-technician="{tech.id}">.*?</tr>', page, re.S)
    return " ".join(text(row.group(0)).split()) if row else ""


def test_each_row_says_which_sets_the_technician_meets_and_what_expires_next(
        client, auth, world):
    auth.login("owner@example.com")
    page = client.get("/verify/compliance").get_data(True)
    # Columns: the platform's set first (Background checked), then the firm's (Insured).
    assert _row(page, world["dana"]) == (
        "Dana Reyes Dallas, TX Active Meets Meets General liability insurance · "
        f"{(TODAY + timedelta(days=20)).isoformat()}")
    assert _row(page, world["dale"]) == "Dale Ortiz Dallas, TX Active Does not meet " \
        "Does not meet —"
    assert _row(page, world["rita"]).startswith("Rita Vance Dallas, TX Active Does not meet Meets")


def test_expiring_counts_link_to_the_credentials_they_count(client, auth, world):
    auth.login("owner@example.com")
    page = client.get("/verify/compliance").get_data(True)
    tiles = text(page, "expiring-summary")
    assert tiles.split("\n") == ["1 credential expires within 30 days · 1 technician",
                                 "2 credentials expire within 60 days · 2 technicians",
                                 "2 credentials expire within 90 days · 2 technicians"]
    tile = links(page, "expiring-summary")
    assert tile["1 credential expires within 30 days · 1 technician"] == \
        "/verify/compliance?expiring=30"
    soon = client.get("/verify/compliance?expiring=30").get_data(True)
    assert "Credentials expiring within 30 days" in text(soon)
    listed = text(soon, "technician-list")
    assert f"Dana Reyes General liability insurance {(TODAY + timedelta(days=20)).isoformat()} 20" \
        in " ".join(listed.split())
    assert "Rita Vance" not in listed and "Ana Park" not in listed


def test_booked_work_at_risk_is_judged_on_its_own_day(client, auth, world):
    auth.login("owner@example.com")
    page = client.get("/verify/compliance").get_data(True)
    risk = text(page, "work-at-risk")
    assert "2 booked assignments have a technician who does not meet its requirements" in risk
    assert "Running job" in risk and "Late job" in risk
    assert "Fine job" not in risk and "Their risky job" not in risk
    assert risk.index("Running job") < risk.index("Late job")      # soonest first
    assert f"{(TODAY + timedelta(days=40)).isoformat()}" in risk
    assert links(page, "work-at-risk")["Dana Reyes"] == f"/technicians/{world['dana'].id}"


def test_the_csv_has_every_technician_and_no_formula_cells(client, auth, world):
    auth.login("owner@example.com")
    response = client.get("/verify/compliance.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(True))))
    assert rows[0] == ["Technician id", "Name", "City", "State", "Account status",
                       "Meets: Background checked", "Meets: Insured", "Next to expire",
                       "Expires on"]
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {"Dana Reyes", "Dale Ortiz", "Rita Vance",
                            "'=HYPERLINK(\"http://x.example\",\"Zed\")"}
    assert by_name["Dana Reyes"][5:] == ["yes", "yes", "General liability insurance",
                                         (TODAY + timedelta(days=20)).isoformat()]
    assert by_name["Dale Ortiz"][5:] == ["no", "no", "", ""]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_admin_report_is_platform_wide(client, auth, world):
    auth.login("admin@example.com")
    page = client.get("/verify/compliance").get_data(True)
    assert "5 technicians on the platform" in text(page, "report-scope")
    summary = text(page, "set-summary")
    assert "Background checked\n1 of 5" in summary and "Insured" not in summary
    assert "Ana Park" in text(page, "technician-list")
    risk = text(page, "work-at-risk")
    assert "3 booked assignments" in risk and "Their risky job" in risk
    rows = list(csv.reader(io.StringIO(client.get("/verify/compliance.csv").get_data(True))))
    assert len(rows) == 6 and rows[0][5:] == ["Meets: Background checked", "Next to expire",
                                              "Expires on"]


@pytest.mark.parametrize("query,message", [
    ("set=abc&status=compliant", "Choose one of the requirement sets in this report."),
    ("status=maybe", "Show those who meet the set or those who do not."),
    ("expiring=45", "Choose 30, 60 or 90 days."),
])
def test_bad_filters_say_why(client, auth, world, query, message):
    auth.login("owner@example.com")
    response = client.get("/verify/compliance?" + query)
    assert response.status_code == 200
    assert message in text(response.get_data(True))


def test_another_firms_set_is_not_a_filter_and_technicians_have_no_report(client, auth, world):
    auth.login("other@example.com")
    page = client.get(f"/verify/compliance?set={world['insured'].id}&status=compliant")
    assert "Choose one of the requirement sets in this report." in text(page.get_data(True))
    assert "Dana Reyes" not in page.get_data(True)
    tech = factories.technician(email="t@example.com")
    db.session.commit()
    assert tech
    auth.logout()
    auth.login("t@example.com")
    assert client.get("/verify/compliance").status_code == 403
    assert client.get("/verify/compliance.csv").status_code == 403


def test_report_pages_carry_no_inline_script_or_style(client, auth, world):
    for email in ("owner@example.com", "admin@example.com"):
        auth.login(email)
        for url in ("/verify/compliance", "/verify/compliance?expiring=60",
                    f"/technicians/{world['dana'].id}"):
            body = client.get(url).get_data(True)
            assert not re.search(r"<script(?![^>]*\bsrc=)", body), url
            assert 'style="' not in body, url
        auth.logout()


def test_next_expiry_ignores_what_has_lapsed(world):
    from marketplace.verify.reports import next_expiry
    found = next_expiry([world["dana"].id, world["dale"].id], TODAY)
    assert found == {world["dana"].id: ("General liability insurance",
                                        TODAY + timedelta(days=20))}
