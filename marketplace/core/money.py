"""Money is integer cents with a currency code. Reading, arithmetic and display live here.

Amounts come in two ways: typed by a person in dollars (`parse_amount('1,234.50')`)
or sent by a program in cents (`cents(123450, 'price_cents')`). Both refuse what
is not a whole, non-negative number of cents within the bound, naming the field.
Nothing here goes through float.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..errors import ValidationFailed

DEFAULT_CURRENCY = "USD"
SYMBOLS = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£"}

# The most any amount on one assignment may be (a price, a rate, expenses, a fee,
# the whole budget, a dispatcher's limit): $100,000.
MAX_CENTS = 10_000_000
# Insurance coverage runs to millions: $10,000,000 (still fits a 32-bit column).
MAX_COVERAGE_CENTS = 1_000_000_000


def cents(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_CENTS) -> int:
    """An amount sent in cents (JSON, service arguments): a whole number within
    [minimum, maximum]. Booleans, floats and strings are refused, not coerced."""
    if value is None:
        raise ValidationFailed.field(field, "Enter an amount in cents.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(field, "Send a whole number of cents.")
    if value < minimum:
        raise ValidationFailed.field(
            field, "Send 0 or more cents." if minimum == 0 else f"Send at least {minimum} cents.")
    if value > maximum:
        raise ValidationFailed.field(field, f"Send at most {maximum} cents "
                                            f"({format_money(maximum)}).")
    return value


def optional_cents(value: object, field: str, *, minimum: int = 0,
                   maximum: int = MAX_CENTS) -> int | None:
    """`cents()` for an amount that may be left out (None)."""
    return None if value is None else cents(value, field, minimum=minimum, maximum=maximum)


def currency_code(value: object, field: str = "currency") -> str:
    """A three-letter ISO 4217 code ('usd' -> 'USD'); left out, the default."""
    if value is None or value == "":
        return DEFAULT_CURRENCY
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValidationFailed.field(field, "Use a three-letter currency code like USD.")
    return code


def parse_amount(text: str | float | Decimal | None, field: str = "amount", *,
                 allow_zero: bool = True, maximum_cents: int = MAX_CENTS) -> int:
    """'1,234.5' or '$1234.50' -> 123450 cents: an amount typed in dollars."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ValidationFailed.field(field, "Enter an amount.")
    if isinstance(text, bool):
        raise ValidationFailed.field(field, "Enter an amount like 125.00.")
    if isinstance(text, float):
        text = repr(text)
    cleaned = str(text).strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationFailed.field(field, "Enter an amount like 125.00.") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValidationFailed.field(field, "Use at most two decimal places.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationFailed.field(field, "Enter an amount above zero.")
    if value * 100 > maximum_cents:
        raise ValidationFailed.field(field, f"That amount is too large: at most "
                                            f"{format_money(maximum_cents)}.")
    return int(value * 100)


def format_money(cents: int | None, currency: str = DEFAULT_CURRENCY) -> str:
    """12345 -> '$123.45', -1250 -> '-$12.50'; the Jinja filter `money`."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{whole:,}.{frac:02d}"


def format_terms(price_cents: int | None, expenses_cents: int | None,
                 currency: str = DEFAULT_CURRENCY) -> str:
    """Agreed or proposed terms: '$360.00 + $25.00 expenses' (expenses only when any)."""
    text = format_money(price_cents, currency)
    if expenses_cents:
        text += f" + {format_money(expenses_cents, currency)} expenses"
    return text


def minutes(hours: float | Decimal | None) -> int:
    """Hours as whole minutes, half a minute rounding up; what hourly pay is counted in."""
    if hours is None:
        return 0
    return int((Decimal(str(hours)) * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hourly_cents(rate_cents: int, minutes: int) -> int:
    """Pay for `minutes` at `rate_cents` an hour, rounded half up to the cent."""
    if rate_cents < 0 or minutes < 0:
        raise ValueError("hourly pay takes a non-negative rate and time")
    return (rate_cents * minutes * 2 + 60) // 120


def cents_to_decimal_str(cents: int | None) -> str:
    """12345 -> '123.45', for an input's value (the Jinja filter `money_input`)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """For pre-filling a form's decimal field."""
    return None if cents is None else (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))
