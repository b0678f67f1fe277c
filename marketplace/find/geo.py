"""Distance and the spatial cover the match index is read with.

One distance definition: haversine on a sphere of the mean Earth radius (IUGG),
the same in Python (`haversine_km`) and in SQL (`haversine_sql`). Unit vectors
(`unit`) give a cheap conservative prefilter in SQL: the dot product of two
unit vectors is the cosine of the angle between them, so "within r" is
"dot >= cos(r / R)", a few multiplications per row and no function call.

The match index stores each technician's H3 cell at STORE_RES (~0.2 km cells).
H3 cell ids are hierarchical: every descendant of a coarser cell at STORE_RES
lies in one contiguous range of integers, so any coarser cell is one range
scan over the index's B-tree. `cover` turns a disc (or a ring: a disc less an
inner disc already read) into such ranges, with cells of up to two thirds of
the radius, so a small disc and a large one both cost a few dozen ranges.

Why the cover is complete: a technician's stored cell has one ancestor at every
coarser resolution r, and the technician is within REACH[r] of that
ancestor's centre (measured worst case over the globe: 1.14 average edge
lengths; REACH takes 1.5, and tests/find/test_geo.py checks it). So a cell
whose centre is d from the site holds nobody nearer than d - REACH[r] and
nobody further than d + REACH[r].
"""
from __future__ import annotations

import math

import h3
import numpy as np
from h3.api import basic_int as h3i
from sqlalchemy import func

EARTH_RADIUS_KM = 6371.0088
STORE_RES = 9
# Worst distance from any point to the centre of its ancestor cell at each resolution.
REACH = {r: 1.5 * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
# Smallest distance between neighbouring cell centres, with margin (cells vary in size).
_STEP = {r: 0.6 * math.sqrt(3) * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
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


def descendant_range(cell, res: int):
    """The integer range holding every STORE_RES descendant of `cell` (at `res`);
    `cell` may be an int or a numpy array of them (then two arrays)."""
    base = (cell & ~_RES_MASK) | (STORE_RES << _RES_SHIFT)
    digits = ((1 << (3 * (STORE_RES - res))) - 1) << _UNUSED_BITS
    return base & ~digits, base | digits


def unit(lat: float, lon: float) -> tuple[float, float, float]:
    """The point as a unit vector (x, y, z) from the Earth's centre."""
    p, q = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)


# Cover cells are about radius / CELLS_PER_RADIUS across: coarser reads more rows
# outside the disc, finer computes more cells and ranges.
CELLS_PER_RADIUS = 1.5
_EDGE = {r: h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}


def cover_resolution(radius_km: float) -> int:
    """The coarsest resolution whose cells are at most radius / CELLS_PER_RADIUS across."""
    for res in range(0, STORE_RES):
        if _EDGE[res] <= radius_km / CELLS_PER_RADIUS:
            return res
    return STORE_RES


def cover(lat: float, lon: float, radius_km: float,
          inner_km: float = 0.0) -> list[tuple[int, int]]:
    """Sorted, merged ranges of stored cells holding everyone within radius_km of a
    point, less cells wholly nearer than inner_km (a ring, for a search that read
    the inner disc already).

    The cells of a hexagonal disc around the site (grid_disk) are tested at once
    (numpy: their centres' dot products with the site), and the kept ones become
    ranges: cells of one resolution are disjoint ranges, so merging is a sort and
    a look at the gaps.
    """
    res = cover_resolution(radius_km)
    reach = REACH[res]
    sx, sy, sz = unit(lat, lon)
    far = math.cos(min(math.pi, (radius_km + reach) / EARTH_RADIUS_KM))
    near = math.cos((inner_km - reach) / EARTH_RADIUS_KM) if inner_km > reach else 2.0
    rings = math.ceil((radius_km + 2 * reach) / _STEP[res])
    cells = h3i.grid_disk(h3i.latlng_to_cell(lat, lon, res), rings)
    latlng = h3i.cell_to_latlng
    ll = np.radians(np.array([latlng(c) for c in cells]))
    cos_lat = np.cos(ll[:, 0])
    dot = (cos_lat * np.cos(ll[:, 1]) * sx + cos_lat * np.sin(ll[:, 1]) * sy
           + np.sin(ll[:, 0]) * sz)
    kept = np.sort(np.array(cells, dtype=np.int64)[(dot >= far) & (dot <= near)])
    if not len(kept):
        return []
    lo, hi = descendant_range(kept, res)    # ids sort as their ranges do
    # A new range starts wherever a stored cell could lie between two neighbours.
    starts = np.flatnonzero(lo[1:] > hi[:-1] + (1 << _UNUSED_BITS)) + 1
    first = np.concatenate(([0], starts))
    last = np.concatenate((starts - 1, [len(lo) - 1]))
    return list(zip(lo[first].tolist(), hi[last].tolist()))
