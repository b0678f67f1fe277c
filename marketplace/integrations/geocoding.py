"""Geocoding: the offline US gazetteer (the `zipcodes` package) first.

Network geocoders (geopy's Nominatim) come after the gazetteer when enabled.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import zipcodes


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
