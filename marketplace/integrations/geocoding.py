"""Geocoding: the offline US gazetteer (the `zipcodes` package) first.

Network geocoders (geopy's Nominatim, rate-limited) come after the gazetteer when
GEOCODER_USER_AGENT is set; their answers are kept in a cache that the app
provides with `use_cache` (the find stage gives a database-backed one), so this
adapter imports no stage.
"""
from __future__ import annotations

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


@lru_cache(maxsize=4096)
def lookup_postal_code(postal_code: str) -> Place | None:
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
    return Place(postal_code=row["zip_code"], city=row["city"].title(), state=row["state"],
                 lat=float(row["lat"]), lon=float(row["long"]),
                 timezone=row.get("timezone") or "America/Chicago")


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
def _cities() -> dict[tuple[str, str], list[dict]]:
    index: dict[tuple[str, str], list[dict]] = {}
    for row in zipcodes.list_all():
        if row.get("active", True) and row.get("lat") and row.get("long"):
            index.setdefault((row["city"].lower(), row["state"].lower()), []).append(row)
    return index


@lru_cache(maxsize=4096)
def lookup_city_state(city: str, state: str) -> Place | None:
    """A city by name and two-letter state: the centroid of its ZIP codes."""
    rows = _cities().get((" ".join(city.lower().split()), state.strip().lower()), [])
    rows = [r for r in rows if r.get("lat") and r.get("long")]
    if not rows:
        return None
    lat = sum(float(r["lat"]) for r in rows) / len(rows)
    lon = sum(float(r["long"]) for r in rows) / len(rows)
    return Place(postal_code=rows[0]["zip_code"], city=rows[0]["city"].title(),
                 state=rows[0]["state"], lat=lat, lon=lon,
                 timezone=rows[0].get("timezone") or "America/Chicago")


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
    # "street, City, ST" without a ZIP: fall back to the city.
    parts = [p.strip() for p in text.split(",")]
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
        if not row.get("lat") or not row.get("timezone"):
            continue
        d = (float(row["lat"]) - lat) ** 2 + (float(row["long"]) - lon) ** 2
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
