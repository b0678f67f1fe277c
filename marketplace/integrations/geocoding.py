"""Geocoding: the offline US gazetteer (the `zipcodes` package) first.

The gazetteer lists 872 ZIP codes without coordinates (stored as 0, 0: military,
parcel-return and some PO box codes). Such a ZIP code takes the centre of its
city's other ZIP codes when they lie close together, else falls through to the
address's own "City, ST", then the network: nothing is ever placed at (0, 0).

Network geocoders (geopy's Nominatim, rate-limited) come after the gazetteer when
GEOCODER_USER_AGENT is set; their answers are kept in a cache that the app
provides with `use_cache` (the find stage gives a database-backed one), so this
adapter imports no stage.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import zipcodes
from flask import Flask, current_app

from ..errors import ValidationFailed

_CACHE_KEY = "geocode_cache"


@dataclass(frozen=True)
class Place:
    postal_code: str
    city: str
    state: str
    lat: float
    lon: float
    timezone: str


# Military "states" (APO/FPO/DPO mail): their ZIP codes say nothing about a place.
_NOT_PLACES = {"AA", "AE", "AP"}
# A city whose ZIP codes lie further than this from their centre has no sensible centre
# (the widest real ones, Orlando and Tucson, reach 65 km).
MAX_CITY_SPREAD_KM = 100.0
_MEAN_RADIUS_KM = 6371.0088


def _coordinates(row: dict) -> tuple[float, float] | None:
    """A gazetteer row's (lat, lon); None for the rows stored without any (as 0, 0)."""
    try:
        lat, lon = float(row.get("lat") or 0), float(row.get("long") or 0)
    except ValueError:
        return None
    return None if lat == 0 and lon == 0 else (lat, lon)


@lru_cache(maxsize=4096)
def lookup_postal_code(postal_code: str) -> Place | None:
    """A US ZIP code's place. Some ZIP codes (military, parcel return, a few PO boxes)
    have no coordinates: those take their city's centre when it has a sensible one
    (lookup_city_state), else None. Never (0, 0)."""
    code = (postal_code or "").strip()[:5]
    if len(code) != 5 or not code.isdigit():
        return None
    try:
        rows = zipcodes.matching(code)
    except (TypeError, ValueError):
        return None
    if not rows:
        return None
    row = rows[0]
    city, state = row["city"].title(), row["state"]
    at = _coordinates(row)
    if at is None:
        centre = lookup_city_state(row["city"], state)
        if centre is None:
            return None
        return Place(postal_code=row["zip_code"], city=city, state=state, lat=centre.lat,
                     lon=centre.lon, timezone=row.get("timezone") or centre.timezone)
    return Place(postal_code=row["zip_code"], city=city, state=state, lat=at[0], lon=at[1],
                 timezone=row.get("timezone") or _nearest_timezone(*at))


def place_postal_code(postal_code: str, *, field: str = "postal_code") -> Place:
    """lookup_postal_code, or a field error saying why there is no place."""
    place = lookup_postal_code(postal_code)
    if place is not None:
        return place
    code = (postal_code or "").strip()[:5]
    if len(code) == 5 and code.isdigit() and zipcodes.matching(code):
        raise ValidationFailed.field(field, "We could not find where that ZIP code is (a "
                                     "military or mail-only one?). Enter the ZIP code you "
                                     "work from.")
    raise ValidationFailed.field(field, "We do not know that US ZIP code.")


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    timezone: str
    label: str
    source: str  # "gazetteer", "nominatim" or "cache"


class GeocodeCache(Protocol):
    """Where network answers are kept, keyed by the normalised query."""

    def get(self, key: str) -> Location | None: ...

    def put(self, key: str, result: Location) -> None: ...


def use_cache(app: Flask, cache: GeocodeCache) -> None:
    app.extensions[_CACHE_KEY] = cache


def cache_key(query: str) -> str:
    return " ".join((query or "").lower().split())[:300]


_CITY_STATE = re.compile(r"^\s*(?P<city>[A-Za-z .'\-]+?)\s*,\s*(?P<state>[A-Za-z]{2})\s*$")
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


@lru_cache(maxsize=1)
def _cities() -> dict[tuple[str, str], list[tuple[float, float, dict]]]:
    """(city, state) -> (lat, lon, row) of each of its ZIP codes that has coordinates."""
    index: dict[tuple[str, str], list[tuple[float, float, dict]]] = {}
    for row in zipcodes.list_all():
        at = _coordinates(row)
        if row.get("active", True) and at and row["state"] not in _NOT_PLACES:
            index.setdefault((row["city"].lower(), row["state"].lower()), []).append(
                (at[0], at[1], row))
    return index


def _centre(points: list[tuple[float, float, dict]]) -> tuple[float, float] | None:
    """The centre of the points (by their unit vectors, so a city across the
    antimeridian is not averaged to the other side of the Earth), or None when some
    point lies more than MAX_CITY_SPREAD_KM from it."""
    vectors = [(math.cos(math.radians(lat)) * math.cos(math.radians(lon)),
                math.cos(math.radians(lat)) * math.sin(math.radians(lon)),
                math.sin(math.radians(lat))) for lat, lon, _ in points]
    x, y, z = (sum(v[i] for v in vectors) for i in range(3))
    norm = math.sqrt(x * x + y * y + z * z)
    if norm == 0:
        return None
    x, y, z = x / norm, y / norm, z / norm
    widest = math.cos(MAX_CITY_SPREAD_KM / _MEAN_RADIUS_KM)
    if any(x * a + y * b + z * c < widest for a, b, c in vectors):
        return None
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


@lru_cache(maxsize=4096)
def lookup_city_state(city: str, state: str) -> Place | None:
    """A city by name and two-letter state: the centre of its ZIP codes, when they lie
    close enough together for a centre to mean something."""
    key = (" ".join(city.lower().split()), state.strip().lower())
    points = _cities().get(key, [])
    centre = _centre(points) if points else None
    if centre is None:
        return None
    row = points[0][2]
    zones = [r["timezone"] for _, _, r in points if r.get("timezone")]
    timezone = max(sorted(set(zones)), key=zones.count) if zones else _nearest_timezone(*centre)
    return Place(postal_code=row["zip_code"], city=row["city"].title(), state=row["state"],
                 lat=centre[0], lon=centre[1], timezone=timezone)


def gazetteer(query: str) -> Location | None:
    """Offline: a US ZIP code anywhere in the text, or exactly "City, ST"."""
    text = (query or "").strip()
    match = _CITY_STATE.match(text)
    if match:
        place = lookup_city_state(match["city"], match["state"])
        if place:
            return Location(place.lat, place.lon, place.timezone,
                            f"{place.city}, {place.state}", "gazetteer")
    zips = _ZIP.findall(text)
    if zips:
        place = lookup_postal_code(zips[-1])
        if place:
            return Location(place.lat, place.lon, place.timezone,
                            f"{place.city}, {place.state} {place.postal_code}", "gazetteer")
    # "street, City, ST" (a ZIP after the state, if any, placed nothing): the city.
    parts = [p.strip() for p in _ZIP.sub("", text).split(",")]
    if len(parts) >= 3 and len(parts[-1]) == 2:
        place = lookup_city_state(parts[-2], parts[-1])
        if place:
            return Location(place.lat, place.lon, place.timezone,
                            f"{place.city}, {place.state}", "gazetteer")
    return None


def _nominatim(query: str, user_agent: str, timeout: float = 5.0,
               domain: str | None = None, scheme: str | None = None,
               min_delay: float = 1.0) -> Location | None:
    from geopy.extra.rate_limiter import RateLimiter
    from geopy.geocoders import Nominatim

    kwargs = {"domain": domain, "scheme": scheme} if domain else {}
    geocoder = Nominatim(user_agent=user_agent, timeout=timeout, **kwargs)
    geocode = RateLimiter(geocoder.geocode, min_delay_seconds=min_delay, max_retries=1,
                          swallow_exceptions=True)
    result = geocode(query, country_codes="us")
    if result is None:
        return None
    lat, lon = float(result.latitude), float(result.longitude)
    return Location(lat, lon, _nearest_timezone(lat, lon), result.address[:300], "nominatim")


def _nearest_timezone(lat: float, lon: float) -> str:
    """The timezone of the nearest gazetteer ZIP code (good enough within the US)."""
    best, best_d = "America/Chicago", None
    for row in zipcodes.list_all():
        at = _coordinates(row)
        if at is None or not row.get("timezone"):
            continue
        d = (at[0] - lat) ** 2 + ((at[1] - lon + 180) % 360 - 180) ** 2
        if best_d is None or d < best_d:
            best, best_d = row["timezone"], d
    return best


def _valid(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def geocode(query: str, *, field: str = "address") -> Location:
    """Gazetteer, then the cache, then Nominatim when configured.

    Raises ValidationFailed on `field` when nothing is found: never (0, 0).
    """
    key = cache_key(query)
    if not key:
        raise ValidationFailed.field(field, "Enter the site address.")
    found = gazetteer(query)
    if found:
        return found
    cache: GeocodeCache | None = current_app.extensions.get(_CACHE_KEY)
    cached = cache.get(key) if cache is not None else None
    if cached:
        return cached
    cfg = current_app.config
    agent = cfg.get("GEOCODER_USER_AGENT")
    if agent:
        found = _nominatim(query, agent, cfg.get("GEOCODER_TIMEOUT", 5.0),
                           cfg.get("GEOCODER_DOMAIN"), cfg.get("GEOCODER_SCHEME", "https"),
                           cfg.get("GEOCODER_MIN_DELAY", 1.0))
        if found and _valid(found.lat, found.lon):
            if cache is not None:
                cache.put(key, found)
            return found
    raise ValidationFailed.field(
        field, "We could not find that address. Include a US ZIP code or \"City, ST\".")
