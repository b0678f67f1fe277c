"""Is a position fix at the site? One rule for check-in and check-out.

A fix is inside when its distance to the site is at most the radius plus the
fix's accuracy (the browser's 95% radius). A fix that is missing (location
denied), coarser than 150 m, or older than 60 s when the action happened is
"unverified": never silently taken with stale coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..core.times import parse_instant
from ..core.transactions import per_transaction
from ..errors import ValidationFailed
from ..extensions import db
from ..find.geo import haversine_km
from .models import Geofence, ManageSettings

MAX_ACCURACY_M = 150.0
MAX_FIX_AGE = timedelta(seconds=60)
DEFAULTS = ManageSettings(early_minutes=30, late_minutes=15, geofence_m=150,
                          sla_warning_minutes=30)


@dataclass(frozen=True)
class Fix:
    """A position as the phone reported it."""
    lat: float
    lon: float
    accuracy_m: float
    taken_at: datetime

    @classmethod
    def parse(cls, data: dict | None, *, default_time: datetime) -> "Fix | None":
        """From `{"lat", "lon", "accuracy", "taken_at"?}`; None when there is no position."""
        if not data:
            return None
        try:
            lat, lon, accuracy = (float(data["lat"]), float(data["lon"]),
                                  float(data["accuracy"]))
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed.field("position", "Send lat, lon and accuracy as numbers.") \
                from None
        if not all(math.isfinite(v) for v in (lat, lon, accuracy)) or not (
                -90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= accuracy <= 1e7):
            raise ValidationFailed.field("position", "That position is not on Earth.")
        taken_at = data.get("taken_at")
        return cls(lat, lon, accuracy,
                   parse_instant(taken_at, "position") if taken_at else default_time)


@dataclass(frozen=True)
class Judgement:
    geofence: Geofence
    distance_m: int | None
    radius_m: int

    def describe(self) -> str:
        if self.distance_m is None:
            return "No usable position."
        return f"{self.distance_m:,} m from the site (radius {self.radius_m} m)."


_SETTINGS = "manage_settings_read"


def settings_for(firm_id: int) -> ManageSettings:
    """The firm's rules, read once per transaction (a queue's check-in asks for them to
    judge the fence and the arrival, its check-out again); `settings.save` forgets them."""
    memo = db.session.info.setdefault(_SETTINGS, {})
    if firm_id not in memo:
        memo[firm_id] = db.session.scalar(
            select(ManageSettings).where(ManageSettings.firm_id == firm_id)) or DEFAULTS
    return memo[firm_id]


def note_settings(firm_id: int, settings: ManageSettings | None) -> None:
    """The firm's rules (or that it has none) as a caller read them with its work."""
    db.session.info.setdefault(_SETTINGS, {})[firm_id] = settings or DEFAULTS


def forget_settings() -> None:
    db.session.info.pop(_SETTINGS, None)


per_transaction(_SETTINGS)


def radius_for(assignment) -> int:
    return assignment.geofence_m or settings_for(assignment.firm_id).geofence_m


def judge(assignment, fix: Fix | None, at: datetime) -> Judgement:
    radius = radius_for(assignment)
    if fix is None:
        return Judgement(Geofence.UNVERIFIED, None, radius)
    distance = round(haversine_km(assignment.lat, assignment.lon, fix.lat, fix.lon) * 1000)
    if fix.accuracy_m > MAX_ACCURACY_M or abs(at - fix.taken_at) > MAX_FIX_AGE:
        return Judgement(Geofence.UNVERIFIED, distance, radius)
    inside = distance <= radius + fix.accuracy_m
    return Judgement(Geofence.INSIDE if inside else Geofence.OUTSIDE, distance, radius)
