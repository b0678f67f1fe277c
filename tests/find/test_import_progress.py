"""The CSV upload page says how many rows it read and what became of them, and is ready to
show a "working" state while a large file is checked (static/js/import.js)."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from tests import factories, pages

HEADER = "title,address,date,start,end,rate\n"


@pytest.fixture
def upload(ctx, client):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user()
    db.session.commit()
    client.post("/login", data={"email": owner.email, "password": factories.PASSWORD})

    def send(text: str) -> str:
        r = client.post("/assignments/import",
                        data={"file": (io.BytesIO(text.encode()), "sites.csv")},
                        content_type="multipart/form-data")
        assert r.status_code == 200
        return r.get_data(as_text=True)
    return send


def test_the_result_counts_the_rows_read_created_fixed_and_skipped(upload):
    good = "".join(f"Kiosk {i},\"Austin, TX\",2030-06-{4 + i:02d},09:00,10:00,90\n"
                   for i in range(4))
    bad = "Broken,,2030-06-20,09:00,10:00,90\n"
    twin = "Kiosk 0,\"Austin, TX\",2030-06-04,09:00,10:00,90\n"
    result = pages.text(upload(HEADER + good + bad + twin), "import-result")
    assert "6 rows read: 4 created, 1 needs fixing, 1 skipped as a duplicate." in result


def test_the_form_carries_the_working_state_for_the_script(upload, client):
    html = client.get("/assignments/import").get_data(as_text=True)
    assert 'data-working="Working… checking and creating' in html
    assert 'id="import-status"' in html and 'role="status"' in html
    assert "/static/js/import.js" in html
