"""Instants sent by clients: ISO 8601 with an offset, or epoch milliseconds; always UTC out."""
from __future__ import annotations

from datetime import datetime, timezone

from ..errors import ValidationFailed

_MIN_MS, _MAX_MS = 946684800000, 4102444800000  # 2000-01-01 .. 2100-01-01


def parse_instant(value, field: str) -> datetime:
    """A device's timestamp -> aware UTC datetime, or a field error."""
    if isinstance(value, bool):
        raise ValidationFailed.field(field, "Send a time as ISO 8601 with an offset.")
    if isinstance(value, (int, float)):
        if not _MIN_MS <= value <= _MAX_MS:
            raise ValidationFailed.field(field, "That time is out of range.")
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationFailed.field(field, "Send a time as ISO 8601 with an offset.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.field(field, "Send a time as ISO 8601 with an offset.") from None
    if parsed.tzinfo is None:
        raise ValidationFailed.field(field, "Give the time with its offset (e.g. Z).")
    if not 2000 <= parsed.year < 2100:
        raise ValidationFailed.field(field, "That time is out of range.")
    return parsed.astimezone(timezone.utc)
