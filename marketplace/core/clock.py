"""The one source of "now". Every timestamp in the app comes from here.

Tests (and the demo's time-travel helpers) move time with `travel_to` /
`advance`; production never does.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """Timezone-aware UTC now, moved by any active time travel."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc) + _offset


def today() -> date:
    return now().date()


def travel_to(moment: datetime, *, freeze: bool = False) -> None:
    """Make `now()` return `moment` (and tick on from it unless frozen)."""
    global _offset, _frozen
    if moment.tzinfo is None:
        raise ValueError("travel_to needs a timezone-aware datetime")
    if freeze:
        _frozen, _offset = moment.astimezone(timezone.utc), timedelta(0)
    else:
        _frozen, _offset = None, moment - datetime.now(timezone.utc)


def advance(delta: timedelta) -> None:
    global _offset, _frozen
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset = _offset + delta


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None


def as_utc(value: datetime) -> datetime:
    """Naive values are taken to be UTC (SQLite hands them back naive)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
