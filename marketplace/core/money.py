"""Money is integer cents with a currency code. Parsing and display live here."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..errors import ValidationFailed

SYMBOLS = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£"}


def parse_amount(text: str | int | float | Decimal | None, field: str = "amount", *,
                 allow_zero: bool = True, maximum_cents: int = 10_000_000_00) -> int:
    """'1,234.5' or '$1234.50' -> 123450 cents. Never goes through float."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValidationFailed.field(field, "Enter an amount.")
    if isinstance(text, float):
        text = repr(text)
    cleaned = str(text).strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationFailed.field(field, "Enter an amount like 125.00.") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValidationFailed.field(field, "Use at most two decimal places.")
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < 0 or (cents == 0 and not allow_zero):
        raise ValidationFailed.field(field, "Enter an amount above zero.")
    if cents > maximum_cents:
        raise ValidationFailed.field(field, "That amount is too large.")
    return cents


def format_money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{whole:,}.{frac:02d}"


def cents_to_decimal_str(cents: int | None) -> str:
    if cents is None:
        return ""
    whole, frac = divmod(int(cents), 100)
    return f"{whole}.{frac:02d}"


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """For pre-filling a form's decimal field."""
    return None if cents is None else (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))
