"""Geofence decisions: inside, outside, poor accuracy, accuracy larger than the radius, stale."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.manage.geofence import Fix, judge
from marketplace.manage.models import Geofence

NOW = datetime(2030, 6, 3, 15, 0, tzinfo=timezone.utc)
M_PER_DEG = 111_195.0


class Site:
    lat, lon, firm_id, geofence_m = 32.7767, -96.7970, 0, 150


def fix(north_m: float, accuracy: float, age_s: float = 5) -> Fix:
    return Fix(Site.lat + north_m / M_PER_DEG, Site.lon, accuracy, NOW - timedelta(seconds=age_s))


@pytest.mark.parametrize("north_m,accuracy,age_s,expected", [
    (0, 10, 5, Geofence.INSIDE),
    (149, 5, 5, Geofence.INSIDE),            # within the radius
    (180, 40, 5, Geofence.INSIDE),           # within radius + accuracy (150 + 40)
    (200, 40, 5, Geofence.OUTSIDE),          # beyond radius + accuracy
    (2000, 10, 5, Geofence.OUTSIDE),
    (0, 151, 5, Geofence.UNVERIFIED),        # accuracy worse than 150 m
    (0, 500, 5, Geofence.UNVERIFIED),        # accuracy larger than the radius
    (0, 10, 61, Geofence.UNVERIFIED),        # a fix older than 60 s when it happened
])
def test_geofence_decisions(app, ctx, north_m, accuracy, age_s, expected):
    result = judge(Site(), fix(north_m, accuracy, age_s), NOW)
    assert result.geofence == expected
    assert result.distance_m == pytest.approx(north_m, abs=1.5)


def test_no_position_is_unverified_never_a_stale_guess(app, ctx):
    result = judge(Site(), None, NOW)
    assert result.geofence == Geofence.UNVERIFIED and result.distance_m is None


def test_an_assignment_radius_overrides_the_firms_default(app, ctx):
    site = Site()
    site.geofence_m = 400
    assert judge(site, fix(350, 10), NOW).geofence == Geofence.INSIDE
    site.geofence_m = None
    assert judge(site, fix(350, 10), NOW).geofence == Geofence.OUTSIDE
