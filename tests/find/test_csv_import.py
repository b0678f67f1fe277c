"""CSV import, on the page and over the API: file lines, bounds, encodings, duplicates."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from marketplace.accounts import tokens
from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find import assignments as assignments_svc
from marketplace.find import csv_import
from marketplace.find.models import Assignment
from tests import factories

HEADER = "title,address,date,start,end,rate,description\n"


def row(title="Kiosk", address='"Austin, TX"', date="2030-06-04", start="09:00",
        end="10:00", rate="90", description="") -> str:
    return f"{title},{address},{date},{start},{end},{rate},{description}\n"


@pytest.fixture
def owner(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    user = factories.firm_user(Role.OWNER, email="owner@example.com")
    db.session.commit()
    return user


@pytest.fixture
def page(client, auth, owner):
    """Upload bytes through /assignments/import; the page's HTML."""
    auth.login("owner@example.com")

    def upload(data: bytes, **fields):
        r = client.post("/assignments/import",
                        data={"file": (io.BytesIO(data), "sites.csv"), **fields},
                        content_type="multipart/form-data")
        assert r.status_code == 200, r.status_code
        return r.get_data(True)
    return upload


@pytest.fixture
def api(client, owner):
    """POST CSV text to /api/v1/assignments/import; (status, JSON)."""
    raw = tokens.issue_api_token(owner, "t")[1]
    db.session.commit()

    def post(text: str, **fields):
        r = client.post("/api/v1/assignments/import", headers={"Authorization": f"Bearer {raw}"},
                        json={"csv": text, **fields})
        return r.status_code, r.get_json()
    return post


def titles() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Assignment.title)))


def line_cell(line: int) -> str:
    return f'<td data-label="Line">{line}</td>'


# --- one service ------------------------------------------------------------------

def test_every_good_row_is_made_by_create_assignment(owner, monkeypatch):
    """The import validates each row and makes it with the one service the form and
    the API use, never a copy of it."""
    made = []

    def spy(user, data, **kw):
        made.append(data["title"])
        return assignments_svc.create_assignment(user, data, **kw)

    monkeypatch.setattr(csv_import, "create_assignment", spy)
    report = csv_import.import_csv(owner, HEADER + row("A") + row("B", address="nowhere")
                                   + row("C", date="2030-06-05"), publish=True)
    assert made == ["A", "C"] and [a.title for a in report.created] == ["A", "C"]
    assert [line for line, _ in report.errors] == [3]
    assert {a.status.value for a in report.created} == {"published"}


# --- file lines -----------------------------------------------------------------

# A blank line (3) and a description spanning three lines (4-6): the bad row is on line 8.
SPREAD = (HEADER + row("A") + "\n" + row("B", description='"first\nsecond\nthird"') + "\n"
          + row("Bad", address="nowhere at all"))


def test_the_page_reports_the_file_line_a_bad_record_starts_on(page):
    body = page(SPREAD.encode())
    assert line_cell(8) in body and line_cell(4) not in body
    assert titles() == ["A", "B"]


def test_the_api_reports_the_file_line_a_bad_record_starts_on(api):
    status, got = api(SPREAD)
    assert status == 200
    assert [e["line"] for e in got["errors"]] == [8] and "address" in got["errors"][0]["fields"]
    assert titles() == ["A", "B"]


# --- bounds ---------------------------------------------------------------------

HUGE = HEADER + row("A") + row("B", description="x" * 200_000) + row("C")


def test_a_200_kb_cell_is_a_clear_error_on_the_page(page):
    body = page(HUGE.encode())
    assert "Line 3: a cell is longer than 10,000 characters." in body
    assert titles() == []


def test_a_200_kb_cell_is_a_clear_error_over_the_api(api):
    status, got = api(HUGE)
    assert status == 422
    assert got["error"]["fields"]["csv"] == "Line 3: a cell is longer than 10,000 characters."
    assert titles() == []


def test_a_cell_over_the_bound_fails_its_row_only(page, api):
    text = HEADER + row("A") + row("B", description="y" * 20_000)
    body = page(text.encode())
    assert line_cell(3) in body and "Keep this cell within 10,000 characters" in body
    status, got = api(text.replace("A,", "A2,"))
    assert status == 200 and [e["line"] for e in got["errors"]] == [3]
    assert "10,000" in got["errors"][0]["fields"]["description"]
    assert titles() == ["A", "A2"]


def test_a_file_over_the_size_bound_is_refused_whole(page, api):
    rows = "".join(row(f"S{i}", description="z" * 9_000) for i in range(120))
    data = (HEADER + rows).encode()
    assert len(data) > csv_import.MAX_CSV_BYTES
    assert "Upload at most 1 MB at once" in page(data)
    status, got = api(HEADER + rows)
    assert status == 422 and "csv" in got["error"]["fields"]
    assert titles() == []


def test_too_many_rows_are_refused_before_anything_is_created(page, api):
    text = HEADER + row("first") + row("x", address="nowhere") * csv_import.MAX_CSV_ROWS
    assert "Upload at most 1,000 rows at once" in page(text.encode())
    status, got = api(text)
    assert status == 422 and "1,000 rows" in got["error"]["fields"]["csv"]
    assert titles() == []


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_a_control_character_fails_its_row_on_the_page(page, char):
    body = page((HEADER + row("A") + row(f"Cafe{char}install")).encode())
    assert line_cell(3) in body and "control character" in body
    assert titles() == ["A"]


def test_a_control_character_is_never_stored_over_the_api(api):
    status, got = api(HEADER + row("A") + row("Cafe\x00install"))
    assert not db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.title.contains("install")))
    if status == 200:       # the row is refused...
        assert [e["line"] for e in got["errors"]] == [3]
        assert "control character" in got["errors"][0]["fields"]["title"]
    else:                   # ...or the request, by the API's rule for every string
        assert status == 422 and "csv" in got["error"]["fields"]


def test_a_title_over_160_characters_is_a_field_error_not_cut(page, api):
    long = "T" * 6000
    body = page((HEADER + row("A") + row(long)).encode())
    assert line_cell(3) in body and "Keep the title within 160 characters" in body
    status, got = api(HEADER + row("B") + row(long))
    assert status == 200 and "160 characters" in got["errors"][0]["fields"]["title"]
    assert titles() == ["A", "B"]


# --- encodings ------------------------------------------------------------------

def test_a_windows_1252_file_is_read_as_such_and_the_page_says_so(page):
    body = page((HEADER + row("Café install") + row("Façade – “east”")).encode("cp1252"))
    assert titles() == ["Café install", "Façade – “east”"]
    assert "read as Windows-1252" in body


def test_a_utf8_file_with_a_byte_order_mark_is_read_without_a_note(page):
    body = page(b"\xef\xbb\xbf" + (HEADER + row("Café install")).encode("utf-8"))
    assert titles() == ["Café install"] and "read as" not in body


# --- duplicates -----------------------------------------------------------------

TWICE = HEADER + row("Kiosk") + row("Kiosk") + row("Kiosk", date="2030-06-05")


def test_a_repeated_row_is_skipped_with_a_warning_on_the_page(page):
    body = page(TWICE.encode())
    assert titles() == ["Kiosk", "Kiosk"]
    assert line_cell(3) in body and "same title, address and time as line 2" in body
    body = page(TWICE.encode())
    assert titles() == ["Kiosk", "Kiosk"] and "as assignment #" in body
    page(TWICE.encode(), allow_duplicates="y")
    assert len(titles()) == 5


def test_a_repeated_row_is_skipped_with_a_warning_over_the_api(api):
    status, got = api(TWICE)
    assert status == 200 and len(got["created"]) == 2
    assert got["warnings"] == [{"line": 3, "message":
                                "The same title, address and time as line 2: skipped."}]
    status, got = api(TWICE, allow_duplicates=True)
    assert len(got["created"]) == 3 and got["warnings"] == []
