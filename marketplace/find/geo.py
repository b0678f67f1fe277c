"""Distance and the spatial cover the match index is read with.

One distance definition: haversine on a sphere of the mean Earth radius (IUGG),
the same in Python (`haversine_km`) and in SQL (`haversine_sql`).

The match index stores each technician's H3 cell at STORE_RES (~0.2 km cells).
H3 cell ids are hierarchical: every descendant of a coarser cell at STORE_RES
lies in one contiguous range of integers, so any coarser cell is one range
scan over the index's B-tree. `ranges_by_distance` walks the hierarchy
best-first from the site, yielding cells (as ranges) nearest first, small near
the site and coarse far away, each with a lower bound on the distance of
anyone under it; `cover` is the whole disc at once.

Why the bounds hold: a technician's stored cell has one ancestor at every
coarser resolution r, and the technician is within REACH[r] of that
ancestor's centre (measured worst case over the globe: 1.14 average edge
lengths; REACH takes 1.5, and tests/find/test_geo.py checks it). So nobody
under a cell whose centre is d from the site is nearer than d - REACH[r].
"""
from __future__ import annotations

import heapq
import math
from typing import Iterator

import h3
from h3.api import basic_int as h3i
from sqlalchemy import func

EARTH_RADIUS_KM = 6371.0088
STORE_RES = 9
TOP_RES = 2
# Worst distance from any point to the centre of its ancestor cell at each resolution.
REACH = {r: 1.5 * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
# Smallest distance between neighbouring cell centres, with margin (cells vary in size).
_STEP = {r: 0.6 * math.sqrt(3) * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
# A cell is read whole once its reach is 1/REFINE of its distance (or of NEAR_KM).
REFINE = 1.0
NEAR_KM = 2.0
_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT
_UNUSED_BITS = 3 * (15 - STORE_RES)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_sql(lat_col, lon_col, lat: float, lon: float):
    """The same formula as haversine_km, as a SQL expression (SQLite and PostgreSQL)."""
    p1, p2 = func.radians(lat_col), math.radians(lat)
    dp = (p2 - p1) / 2
    dl = (math.radians(lon) - func.radians(lon_col)) / 2
    a = func.sin(dp) * func.sin(dp) + \
        func.cos(p1) * math.cos(p2) * func.sin(dl) * func.sin(dl)
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(a))


def cell_of(lat: float, lon: float) -> int:
    """The stored cell of a point."""
    return h3i.latlng_to_cell(lat, lon, STORE_RES)


def descendant_range(cell: int, res: int) -> tuple[int, int]:
    """The integer range holding every STORE_RES descendant of `cell` (at `res`)."""
    base = (cell & ~_RES_MASK) | (STORE_RES << _RES_SHIFT)
    digits = ((1 << (3 * (STORE_RES - res))) - 1) << _UNUSED_BITS
    return base & ~digits, base | digits


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, with neighbours that leave no stored cell between them joined."""
    out: list[list[int]] = []
    step = 1 << _UNUSED_BITS
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + step:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    p, q = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)


# Cell centres as unit vectors, kept across searches (sites cluster around the
# same metros, so the cells near them are met again and again).
_CENTRES: dict[int, tuple[float, float, float]] = {}
_CENTRES_MAX = 200_000


def _centre(cell: int) -> tuple[float, float, float]:
    if len(_CENTRES) >= _CENTRES_MAX:
        _CENTRES.clear()
    vector = _CENTRES[cell] = _unit(*h3i.cell_to_latlng(cell))
    return vector


def ranges_by_distance(lat: float, lon: float, radius_km: float
                       ) -> Iterator[tuple[float, tuple[int, int]]]:
    """Ranges of stored cells holding everyone within radius_km of a point, nearest first.

    Yields (bound, range): nobody under the range is nearer than `bound`, and the
    bounds never decrease, so once a bound of b is yielded everyone nearer than
    b has been yielded already. A best-first walk down the H3 hierarchy: a cell
    is refined into its children until it is small next to its distance (about
    1/REFINE of it, NEAR_KM near the site), and dropped once wholly out of reach.
    """
    sx, sy, sz = _unit(lat, lon)
    acos, centres, centre = math.acos, _CENTRES, _centre
    children, push, pop = h3i.cell_to_children, heapq.heappush, heapq.heappop
    heap: list[tuple[float, int, int]] = []

    def visit(cell: int, res: int, floor: float) -> None:
        x, y, z = centres.get(cell) or centre(cell)
        # The same great-circle distance as haversine_km (on unit vectors): a bound
        # with REACH's margin, so the formula's last digits do not matter here.
        d = EARTH_RADIUS_KM * acos(min(1.0, x * sx + y * sy + z * sz))
        bound = max(floor, d - REACH[res])
        if bound <= radius_km:
            push(heap, (bound, cell, res))

    rings = math.ceil((radius_km + 2 * REACH[TOP_RES]) / _STEP[TOP_RES])
    for cell in h3i.grid_disk(h3i.latlng_to_cell(lat, lon, TOP_RES), rings):
        visit(cell, TOP_RES, 0.0)
    while heap:
        bound, cell, res = pop(heap)
        if res >= STORE_RES or REACH[res] * REFINE <= max(bound, NEAR_KM):
            yield bound, descendant_range(cell, res)
        else:
            for child in children(cell, res + 1):
                visit(child, res + 1, bound)


def cover(lat: float, lon: float, radius_km: float) -> list[tuple[int, int]]:
    """Sorted, merged ranges of stored cells holding everyone within radius_km of a point."""
    return merge([r for _, r in ranges_by_distance(lat, lon, radius_km)])
