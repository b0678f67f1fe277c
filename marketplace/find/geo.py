"""Distance and the spatial cover the match index is read with.

One distance definition, `distance_km`: Lambert's formula on the WGS84
ellipsoid (the Andoyer-Lambert first-order correction to the great circle on
the sphere of reduced latitudes), within 0.0002% of the exact geodesic on real
ZIP code pairs, Hawaii and Alaska included, in under 2 microseconds; every
distance shown, tested and ranked by is this one (`distance_km_array` is the
same formula over numpy arrays).

The prefilters work on the sphere of the mean Earth radius, which is cheap:
unit vectors (`unit`) make "within r" a dot product, "dot >= cos(r / R)", a few
multiplications per row in SQL; `haversine_km` is the same sphere's distance.
They stay conservative because the sphere never measures a path longer than
SPHERE_STRETCH (1.0056) times the ellipsoid does: seen on the sphere (same
latitudes and longitudes), lengths stretch by R / M north-south and R / N
east-west (M and N the ellipsoid's radii of curvature), at most R over the
smallest radius of curvature, M at the equator. So whoever is within r on the
ellipsoid is within `sphere_km(r)` on the sphere, and a prefilter reads that far.

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
# WGS84, the ellipsoid of GPS and of the gazetteer's coordinates.
WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563
# The smallest radius of curvature of the ellipsoid (north-south at the equator, b²/a).
MIN_CURVATURE_KM = WGS84_A_KM * (1 - WGS84_F) ** 2
SPHERE_STRETCH = EARTH_RADIUS_KM / MIN_CURVATURE_KM
STORE_RES = 9
# Worst distance from any point to the centre of its ancestor cell at each resolution.
REACH = {r: 1.5 * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
# Smallest distance between neighbouring cell centres, with margin (cells vary in size).
_STEP = {r: 0.6 * math.sqrt(3) * h3.average_hexagon_edge_length(r, "km") for r in range(0, 16)}
_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT
_UNUSED_BITS = 3 * (15 - STORE_RES)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The distance on the WGS84 ellipsoid (Lambert's formula), in km."""
    b1 = math.atan((1 - WGS84_F) * math.tan(math.radians(lat1)))
    b2 = math.atan((1 - WGS84_F) * math.tan(math.radians(lat2)))
    h = math.sin((b2 - b1) / 2) ** 2 + \
        math.cos(b1) * math.cos(b2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    if h <= 0.0:
        return 0.0
    h = min(h, 1.0 - 1e-15)
    sigma = 2 * math.asin(math.sqrt(h))     # the central angle between reduced latitudes
    p, q = (b1 + b2) / 2, (b2 - b1) / 2
    x = (sigma - math.sin(sigma)) * (math.sin(p) * math.cos(q)) ** 2 / (1 - h)
    y = (sigma + math.sin(sigma)) * (math.cos(p) * math.sin(q)) ** 2 / h
    return WGS84_A_KM * (sigma - WGS84_F / 2 * (x + y))


def distance_km_array(lat: float, lon: float, lats, lons):
    """distance_km from one point to arrays of points (numpy), the same formula."""
    b1 = math.atan((1 - WGS84_F) * math.tan(math.radians(lat)))
    b2 = np.arctan((1 - WGS84_F) * np.tan(np.radians(lats)))
    h = np.sin((b2 - b1) / 2) ** 2 + \
        math.cos(b1) * np.cos(b2) * np.sin(np.radians(np.asarray(lons) - lon) / 2) ** 2
    zero = h <= 0.0
    h = np.clip(h, 1e-300, 1.0 - 1e-15)
    sigma = 2 * np.arcsin(np.sqrt(h))
    p, q = (b1 + b2) / 2, (b2 - b1) / 2
    x = (sigma - np.sin(sigma)) * (np.sin(p) * np.cos(q)) ** 2 / (1 - h)
    y = (sigma + np.sin(sigma)) * (np.cos(p) * np.sin(q)) ** 2 / h
    return np.where(zero, 0.0, WGS84_A_KM * (sigma - WGS84_F / 2 * (x + y)))


def sphere_km(km: float) -> float:
    """How far a prefilter on the mean sphere reads to hold everyone within `km`."""
    return km * SPHERE_STRETCH


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float,
                                                               list[tuple[float, float]]]:
    """(lat_lo, lat_hi, longitude ranges) holding everyone within `km` of a point:
    one longitude range, or two when the box crosses the antimeridian (±180°), or
    every longitude when the disc holds a pole."""
    angle = sphere_km(km) / EARTH_RADIUS_KM + 1e-12
    dlat = math.degrees(angle)
    lat_lo, lat_hi = lat - dlat, lat + dlat
    if lat_lo <= -90 or lat_hi >= 90 or math.sin(angle) >= math.cos(math.radians(lat)):
        return max(-90.0, lat_lo), min(90.0, lat_hi), [(-180.0, 180.0)]
    # On a sphere, the widest longitude a disc of this angle reaches from this latitude.
    dlon = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat))))
    lo, hi = lon - dlon, lon + dlon
    if lo < -180:
        return lat_lo, lat_hi, [(-180.0, hi), (lo + 360, 180.0)]
    if hi > 180:
        return lat_lo, lat_hi, [(-180.0, hi - 360), (lo, 180.0)]
    return lat_lo, lat_hi, [(lo, hi)]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance on the mean sphere: what the prefilters and the
    cover measure (see the module's docstring), never a distance to show or rank by."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_sql(lat_col, lon_col, lat: float, lon: float):
    """The same formula as haversine_km (the sphere), as a SQL expression."""
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
