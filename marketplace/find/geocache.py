"""The database-backed geocode cache that find gives integrations/geocoding.py."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..integrations.geocoding import Location
from .models import GeocodeCache


class DatabaseGeocodeCache:
    """Network answers in the geocode_cache table; added to the caller's transaction."""

    def get(self, key: str) -> Location | None:
        row = db.session.scalar(select(GeocodeCache).where(GeocodeCache.query == key))
        if row is None:
            return None
        return Location(row.lat, row.lon, row.timezone, row.label, "cache")

    def put(self, key: str, result: Location) -> None:
        db.session.add(GeocodeCache(query=key, lat=result.lat, lon=result.lon,
                                    timezone=result.timezone, label=result.label,
                                    source=result.source))
        db.session.flush()
