"""CSV exports by period: a firm's spend (its invoices), a technician's earnings (their
statements and payouts). Every cell goes through core/csvsafe.write_csv."""
from __future__ import annotations

import re
from datetime import date

from ..accounts.models import User
from ..accounts.policy import firm_id_of
from ..core import clock
from ..core.csvsafe import write_csv
from ..core.money import cents_to_decimal_str
from ..errors import PermissionDenied, ValidationFailed
from ..extensions import db
from . import statements
from .payout_models import PayoutIntent

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


def parse_period(text: str | None) -> tuple[date, date, str]:
    """'2026', '2026-11' or '2026-Q4' -> [start, end) and the label; default: this month."""
    text = (text or "").strip() or clock.today().strftime("%Y-%m")
    match = _PERIOD.match(text)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed.field("period", "Use a year (2026), a month (2026-11) or a "
                                               "quarter (2026-Q4).")
    year, month, quarter = int(match.group(1)), match.group(2), match.group(3)
    if month is not None:
        m = int(month)
        if not 1 <= m <= 12:
            raise ValidationFailed.field("period", "A month is 01 to 12.")
        start = date(year, m, 1)
        end = date(year + (m == 12), m % 12 + 1, 1)
    elif quarter is not None:
        q = int(quarter)
        start = date(year, 3 * q - 2, 1)
        end = date(year + (q == 4), (3 * q) % 12 + 1, 1)
    else:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return start, end, text


def _amount(value: int) -> str:
    return cents_to_decimal_str(value)


SPEND_HEADER = ["invoice", "issued_on", "assignment_id", "assignment", "technician", "labour",
                "expenses", "total", "currency"]
EARNINGS_HEADER = ["statement", "issued_on", "assignment_id", "assignment", "firm", "labour",
                   "expenses", "platform_fee", "net", "currency", "payout_date", "payout_status",
                   "transfer"]


def spend_csv(user: User, period: str | None) -> tuple[str, str]:
    """A firm's invoices issued in the period, with totals: (csv text, period label)."""
    if firm_id_of(user) is None:
        raise PermissionDenied("Spend exports are for firm members.")
    start, end, label = parse_period(period)
    docs = db.session.scalars(statements.documents_for(user, start=start, end=end)).all()
    rows = [[d.display_number, d.issued_at.date().isoformat(), d.assignment_id,
             d.details.get("title", ""), d.details.get("technician_name", ""),
             _amount(d.labour_cents), _amount(d.expenses_cents), _amount(d.total_cents),
             d.currency] for d in docs]
    rows.append(["Total", "", "", "", "", _amount(sum(d.labour_cents for d in docs)),
                 _amount(sum(d.expenses_cents for d in docs)),
                 _amount(sum(d.total_cents for d in docs)), ""])
    return write_csv(rows, header=SPEND_HEADER), label


def earnings_csv(user: User, period: str | None) -> tuple[str, str]:
    """A technician's statements issued in the period with their payouts."""
    if not user.is_technician or user.technician is None:
        raise PermissionDenied("Earnings exports are for technicians.")
    start, end, label = parse_period(period)
    docs = db.session.scalars(statements.documents_for(user, start=start, end=end)).all()
    payouts = {p.assignment_id: p for p in db.session.query(PayoutIntent).filter(
        PayoutIntent.assignment_id.in_([d.assignment_id for d in docs] or [0]))}
    rows = []
    for d in docs:
        payout = payouts.get(d.assignment_id)
        rows.append([d.display_number, d.issued_at.date().isoformat(), d.assignment_id,
                     d.details.get("title", ""), d.details.get("firm_name", ""),
                     _amount(d.labour_cents), _amount(d.expenses_cents), _amount(d.fee_cents),
                     _amount(d.net_cents), d.currency,
                     d.payout_date.isoformat() if d.payout_date else "",
                     payout.status.value if payout else "scheduled",
                     payout.transfer_id or "" if payout else ""])
    rows.append(["Total", "", "", "", "", _amount(sum(d.labour_cents for d in docs)),
                 _amount(sum(d.expenses_cents for d in docs)),
                 _amount(sum(d.fee_cents for d in docs)), _amount(sum(d.net_cents for d in docs)),
                 "", "", "", ""])
    return write_csv(rows, header=EARNINGS_HEADER), label
