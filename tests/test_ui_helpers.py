"""The display helpers every page uses: counts in words that agree, times with their zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marketplace.web.ui import local_time, plural, viewer_time, work_window

WINTER = datetime(2026, 12, 9, 2, 0, tzinfo=timezone.utc)    # Tue Dec 8, 6:00 PM in LA
SUMMER = datetime(2030, 6, 3, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("n,words", [(0, "0 offers"), (1, "1 offer"), (2, "2 offers")])
def test_plural_agrees_with_the_count(n, words):
    assert f"{n} {plural(n, 'offer')}" == words


def test_plural_takes_an_irregular_phrase():
    assert plural(1, "row needs", "rows need") == "row needs"
    assert plural(4, "row needs", "rows need") == "rows need"


def test_work_times_carry_the_sites_zone_abbreviation():
    assert local_time(WINTER, "America/Los_Angeles") == "Tue Dec 8, 6:00 PM PST"
    assert local_time(SUMMER, "America/Chicago") == "Mon Jun 3, 10:00 AM CDT"
    assert local_time(None, "America/Chicago") == "—"


def test_a_window_names_its_day_and_zone_once():
    ends = SUMMER.replace(hour=17)
    assert work_window(SUMMER, ends, "America/Chicago") == "Mon Jun 3, 10:00 AM – 12:00 PM CDT"
    two_days = SUMMER.replace(day=4, hour=22)
    assert work_window(SUMMER, two_days, "America/Chicago") == \
        "Mon Jun 3, 10:00 AM – Tue Jun 4, 5:00 PM CDT"


def test_without_a_viewer_zone_times_are_utc_and_say_so(app):
    with app.test_request_context():
        assert viewer_time(SUMMER) == "Mon Jun 3, 3:00 PM UTC"
