"""Per-technician annual totals for Form 1099-NEC.

A technician is reportable for a tax year when what the marketplace paid them in that
calendar year (transfers made, less reversals) reaches the year's threshold: $600 for
payments through 2025, $2,000 for payments from 2026 on. Later years' (inflation-
adjusted) thresholds go in config `TAX_1099_THRESHOLDS` ({year: cents}); a year takes
the threshold of the latest year at or before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone

from flask import current_app
from sqlalchemy import func, select

from ..accounts.models import TechnicianProfile, User
from ..core.csvsafe import write_csv
from ..core.money import cents_to_decimal_str
from ..errors import ValidationFailed
from ..extensions import db
from .payout_models import TRANSFERRED, PayoutIntent

THRESHOLDS = {1: 60_000, 2026: 200_000}   # cents, from the year given on


def threshold_cents(year: int) -> int:
    table = {**THRESHOLDS, **current_app.config.get("TAX_1099_THRESHOLDS", {})}
    return table[max(y for y in table if y <= year)]


@dataclass(frozen=True)
class TaxRow:
    technician_id: int
    name: str
    email: str
    paid_cents: int
    payouts: int
    reportable: bool


def _year(year: object) -> int:
    try:
        value = int(str(year))
    except (TypeError, ValueError):
        raise ValidationFailed.field("year", "Enter a year like 2026.") from None
    if not 2000 <= value <= 2100:
        raise ValidationFailed.field("year", "Enter a year like 2026.")
    return value


def annual_totals(year: object, currency: str = "USD") -> list[TaxRow]:
    """Every technician paid in the year, largest first, with whether to file for them."""
    year = _year(year)
    start = datetime.combine(datetime(year, 1, 1).date(), time(0), tzinfo=timezone.utc)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(0), tzinfo=timezone.utc)
    paid = func.sum(PayoutIntent.amount_cents - PayoutIntent.reversed_cents)
    rows = db.session.execute(
        select(TechnicianProfile.id, User.name, User.email, paid, func.count(PayoutIntent.id))
        .join(TechnicianProfile, TechnicianProfile.id == PayoutIntent.technician_id)
        .join(User, User.id == TechnicianProfile.user_id)
        .where(PayoutIntent.status.in_(TRANSFERRED),
               PayoutIntent.sent_at >= start, PayoutIntent.sent_at < end,
               PayoutIntent.currency == currency)
        .group_by(TechnicianProfile.id, User.name, User.email)
        .order_by(paid.desc(), TechnicianProfile.id)).all()
    limit = threshold_cents(year)
    return [TaxRow(tid, name, email, int(total), int(n), int(total) >= limit)
            for tid, name, email, total, n in rows]


def annual_csv(year: object) -> str:
    rows = annual_totals(year)
    return write_csv([[r.technician_id, r.name, r.email, cents_to_decimal_str(r.paid_cents),
                       r.payouts, "yes" if r.reportable else "no"] for r in rows],
                     header=["technician_id", "name", "email", "paid", "payouts",
                             "file_1099_nec"])
