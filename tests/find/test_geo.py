"""The spatial cover the match index is read with: complete, rings included, and small."""
from __future__ import annotations

import bisect
import math
import random

import h3
import numpy as np
import pytest

from marketplace.find.geo import (REACH, STORE_RES, cell_of, cover, cover_resolution,
                                  descendant_range, haversine_km)


def _inside(ranges, cell):
    i = bisect.bisect_right([lo for lo, _ in ranges], cell) - 1
    return i >= 0 and ranges[i][0] <= cell <= ranges[i][1]


def _around(rng, lat, lon, km):
    d, b = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return (lat + d * math.cos(b) / 111.2,
            lon + d * math.sin(b) / (111.2 * math.cos(math.radians(lat))))


@pytest.mark.parametrize("seed", range(4))
def test_cover_holds_everyone_within_the_radius(seed):
    rng = random.Random(seed)
    checked = 0
    for _ in range(60):
        lat, lon = rng.uniform(-60, 70), rng.uniform(-180, 180)
        radius = rng.choice([0.5, 2, 8, 25, 50, 120])
        ranges = cover(lat, lon, radius)
        for _ in range(150):
            p = _around(rng, lat, lon, radius)
            if haversine_km(lat, lon, *p) <= radius:
                assert _inside(ranges, cell_of(*p)), (lat, lon, radius, p)
                checked += 1
    assert checked > 5000


@pytest.mark.parametrize("seed", range(2))
def test_a_ring_cover_holds_everyone_between_its_radii(seed):
    rng = random.Random(100 + seed)
    checked = 0
    for _ in range(60):
        lat, lon = rng.uniform(-60, 70), rng.uniform(-180, 180)
        inner = rng.choice([1, 2, 8, 25])
        radius = inner * rng.choice([2, 3, 8])
        ranges = cover(lat, lon, radius, inner)
        for _ in range(150):
            p = _around(rng, lat, lon, radius)
            if inner <= haversine_km(lat, lon, *p) <= radius:
                assert _inside(ranges, cell_of(*p)), (lat, lon, inner, radius, p)
                checked += 1
    assert checked > 5000


def test_a_ring_cover_leaves_out_cells_wholly_inside_the_inner_disc():
    lat, lon = 32.78, -96.80
    disc, ring = cover(lat, lon, 4), cover(lat, lon, 4, 3.5)
    near = cell_of(lat, lon)
    assert _inside(disc, near) and not _inside(ring, near)
    assert all(_inside(disc, lo) and _inside(disc, hi) for lo, hi in ring)
    assert sum(hi - lo for lo, hi in ring) < sum(hi - lo for lo, hi in disc)


@pytest.mark.parametrize("radius", [0.5, 1, 4, 16, 50, 200])
def test_a_cover_is_a_few_dozen_ranges_whatever_the_radius(radius):
    """Cells of up to two thirds of the radius: the cost of a cover does not grow
    with the radius, and its cells do not reach far outside the disc."""
    ranges = cover(40.71, -74.0, radius)
    assert 1 <= len(ranges) <= 80
    res = cover_resolution(radius)
    for lo, hi in ranges[:: max(1, len(ranges) // 10)]:
        cell = h3.cell_to_parent(h3.int_to_str(lo), res)
        assert haversine_km(40.71, -74.0, *h3.cell_to_latlng(cell)) <= radius + REACH[res]


def test_a_descendant_range_holds_exactly_the_cells_descendants():
    parent = h3.str_to_int(h3.latlng_to_cell(40.7, -74.0, 6))
    lo, hi = descendant_range(parent, 6)
    kids = [h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(parent), STORE_RES)]
    assert all(lo <= k <= hi for k in kids)
    neighbours = [h3.str_to_int(n) for n in h3.grid_ring(h3.int_to_str(parent), 1)]
    for n in neighbours:
        for k in h3.cell_to_children(h3.int_to_str(n), STORE_RES)[:50]:
            assert not lo <= h3.str_to_int(k) <= hi


def test_cover_ranges_are_sorted_disjoint_and_fully_merged():
    """Neighbouring cells become one range; a gap stays only where a stored cell
    could lie between two ranges."""
    step = 1 << (3 * (15 - STORE_RES))
    for radius, inner in ((1, 0), (8, 4), (50, 0), (50, 25)):
        ranges = cover(40.71, -74.0, radius, inner)
        assert all(lo <= hi for lo, hi in ranges)
        assert all(b[0] > a[1] + step for a, b in zip(ranges, ranges[1:]))
    parent = h3.str_to_int(h3.latlng_to_cell(40.71, -74.0, 5))
    lo, hi = descendant_range(parent, 5)
    whole = [(a, b) for a, b in cover(40.71, -74.0, 60) if a <= lo and hi <= b]
    assert whole, "a cell wholly inside the disc is read as (part of) one range"


def test_reach_bounds_the_distance_to_an_ancestor_centre():
    rng = random.Random(4)
    for _ in range(3000):
        lat, lon = math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)
        stored = cell_of(lat, lon)
        for res in (4, 6, 8):
            centre = h3.cell_to_latlng(h3.cell_to_parent(h3.int_to_str(stored), res))
            assert haversine_km(lat, lon, *centre) <= REACH[res]


# --- the distance: ellipsoidal, checked against geopy's geodesic ------------------

def _zip_points():
    import zipcodes
    pts = [(float(r["lat"]), float(r["long"]), r["state"]) for r in zipcodes.list_all()]
    return [p for p in pts if (p[0], p[1]) != (0.0, 0.0)]


def _zip_pairs(seed: int = 3) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Real ZIP code pairs: across the country, within Hawaii and Alaska (and from
    them), and near neighbours (within about 100 km) everywhere."""
    rng = random.Random(seed)
    pts = _zip_points()
    remote = [p for p in pts if p[2] in ("HI", "AK")]
    pairs = [(rng.choice(pts), rng.choice(pts)) for _ in range(800)]
    pairs += [(rng.choice(remote), rng.choice(remote)) for _ in range(800)]
    pairs += [(rng.choice(remote), rng.choice(pts)) for _ in range(200)]
    by_cell: dict[tuple[int, int], list] = {}
    for p in pts:
        by_cell.setdefault((int(p[0]), int(p[1])), []).append(p)
    for _ in range(1500):
        a = rng.choice(remote) if rng.random() < 0.4 else rng.choice(pts)
        pairs.append((a, rng.choice(by_cell[(int(a[0]), int(a[1]))])))
    return [((a[0], a[1]), (b[0], b[1])) for a, b in pairs if a[:2] != b[:2]]


def test_distance_agrees_with_geodesic_within_a_hundredth_of_a_percent_on_zip_pairs():
    from geopy.distance import geodesic

    from marketplace.find.geo import distance_km
    pairs = _zip_pairs()
    states = {p[2] for p in _zip_points()}
    assert {"HI", "AK"} <= states and len(pairs) > 3000
    worst = 0.0
    for a, b in pairs:
        exact = geodesic(a, b).km
        assert exact > 0
        worst = max(worst, abs(distance_km(*a, *b) - exact) / exact)
    assert worst < 1e-4


def test_distance_is_zero_for_one_point_and_symmetric():
    from marketplace.find.geo import distance_km
    assert distance_km(21.3, -157.8, 21.3, -157.8) == 0.0
    assert distance_km(51.57, 178.88, 51.85, -177.09) == pytest.approx(
        distance_km(51.85, -177.09, 51.57, 178.88), rel=1e-12)


def test_the_array_distance_is_the_same_formula():
    from marketplace.find.geo import distance_km, distance_km_array
    pairs = _zip_pairs(5)[:500]
    lat0, lon0 = pairs[0][0]
    lats = np.array([b[0] for _, b in pairs])
    lons = np.array([b[1] for _, b in pairs])
    got = distance_km_array(lat0, lon0, lats, lons)
    want = [distance_km(lat0, lon0, la, lo) for la, lo in zip(lats, lons)]
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_the_sphere_never_measures_more_than_its_stretch_times_the_distance():
    """The prefilters (SQL dot products, covers, the feed's box) work on the mean
    sphere; they stay conservative because the sphere never measures more than
    SPHERE_STRETCH times the ellipsoidal distance (worst: north-south at the equator)."""
    from marketplace.find.geo import SPHERE_STRETCH, distance_km
    rng = random.Random(11)
    worst = 0.0
    for _ in range(20000):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-180, 180)
        bearing, km = rng.uniform(0, 2 * math.pi), rng.choice([0.5, 5, 50, 500, 3000])
        lat2 = max(-89.0, min(89.0, lat + km * math.cos(bearing) / 111.0))
        lon2 = lon + km * math.sin(bearing) / (111.0 * math.cos(math.radians(lat)))
        ratio = haversine_km(lat, lon, lat2, lon2) / distance_km(lat, lon, lat2, lon2)
        worst = max(worst, ratio)
    near_equator = haversine_km(0, 10, 0.5, 10) / distance_km(0, 10, 0.5, 10)
    assert near_equator == pytest.approx(SPHERE_STRETCH, rel=1e-4)
    assert worst <= SPHERE_STRETCH


def test_the_bounding_box_holds_everyone_within_reach_and_splits_at_the_antimeridian():
    from marketplace.find.geo import bounding_box, distance_km
    rng = random.Random(12)
    checked = 0
    for _ in range(300):
        lat = rng.uniform(-75, 75)
        lon = rng.choice([rng.uniform(-180, 180), rng.uniform(177, 180), rng.uniform(-180, -177)])
        km = rng.choice([5, 50, 300, 500])
        lat_lo, lat_hi, lons = bounding_box(lat, lon, km)
        assert 1 <= len(lons) <= 2 and all(-180 <= lo <= hi <= 180 for lo, hi in lons)
        for _ in range(100):
            d, b = km * 1.02 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            p_lat = lat + d * math.cos(b) / 110.5
            p_lon = lon + d * math.sin(b) / (110.5 * math.cos(math.radians(lat)))
            p_lon = (p_lon + 180) % 360 - 180
            if distance_km(lat, lon, p_lat, p_lon) <= km:
                assert lat_lo <= p_lat <= lat_hi and any(lo <= p_lon <= hi for lo, hi in lons)
                checked += 1
    assert checked > 15000
    _, _, lons = bounding_box(51.5672, 178.8775, 300)      # ZIP 96507, near Adak
    assert len(lons) == 2 and any(lo <= -177.09 <= hi for lo, hi in lons)
    _, _, lons = bounding_box(89.5, 0, 100)                 # the pole: every longitude
    assert lons == [(-180.0, 180.0)]


# --- the search stays exact at the edges of the sphere's approximation ------------

def _due_north(lat: float, lon: float, km: float) -> tuple[float, float]:
    """The point `km` (ellipsoidal) due north."""
    from marketplace.find.geo import distance_km
    lo, hi = lat, lat + km / 100
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if distance_km(lat, lon, mid, lon) < km else (lo, mid)
    return lo, lon


HONOLULU = (21.3069, -157.8583)


def test_a_technician_just_inside_the_radius_is_matched_where_the_sphere_says_outside(ctx):
    """Near Honolulu the sphere measures north-south distances 0.45% long: a
    technician 49.9 km away (50.1 on the sphere) is within the site's 50 km and their
    own 50 km travel radius, and neither prefilter may drop them."""
    from marketplace.accounts.models import Role
    from marketplace.find.geo import distance_km
    from marketplace.find.matching import match_brute_force, match_technicians, rebuild_index
    from tests import factories
    from tests.find.helpers import make_assignment, tech_at

    owner = factories.firm_user(Role.OWNER)
    lat, lon = _due_north(*HONOLULU, 49.9)
    assert haversine_km(*HONOLULU, lat, lon) > 50
    inside = tech_at(lat, lon, travel_radius_km=50)
    far_lat, far_lon = _due_north(*HONOLULU, 50.1)
    tech_at(far_lat, far_lon, travel_radius_km=100)
    a = make_assignment(owner, lat=HONOLULU[0], lon=HONOLULU[1], radius_km=50)
    rebuild_index()
    found = match_technicians(a)
    assert [m.technician_id for m in found] == [inside.id]
    assert found[0].distance_km == pytest.approx(distance_km(*HONOLULU, lat, lon))
    assert [m.technician_id for m in match_brute_force(a)] == [inside.id]
