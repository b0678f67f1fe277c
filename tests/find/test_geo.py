"""The spatial cover the match index is read with: complete, rings included, and small."""
from __future__ import annotations

import bisect
import math
import random

import h3
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
