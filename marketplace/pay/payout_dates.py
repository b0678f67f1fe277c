"""When a technician is paid: the date promised on the offer and the day a payable is due.

One rule, read by the offer (before accepting), the statements and the payout run:
the work is handed in on its last day (the site's local day); the firm approves it
then or, silent, it is approved automatically `auto_approve_days` later; the payable
is due `payment_terms_days` after the approval; the payout run transfers it on its
due day. So the latest payout date is the last day + auto-approval + terms.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..core import clock


def local_day(moment: datetime, zone: str | None) -> date:
    """The calendar day of `moment` at the site."""
    return clock.as_utc(moment).astimezone(ZoneInfo(zone or "UTC")).date()


def site_today(zone: str | None) -> date:
    return local_day(clock.now(), zone)


def settings_of(firm_id: int):
    from . import settings
    return settings.for_firm(firm_id)


def promised_date(assignment) -> date:
    """The latest day the technician is paid for this assignment, as the offer shows it."""
    terms = settings_of(assignment.firm_id)
    last_day = local_day(assignment.ends_at or assignment.starts_at, assignment.timezone)
    return last_day + timedelta(days=terms.auto_approve_days + terms.payment_terms_days)


def is_due(due_on: date, zone: str | None) -> bool:
    """A payable is due on its due day at its site (and every day after)."""
    return due_on <= site_today(zone)


def offer_section(subject) -> dict | None:
    """The offer's "Paid on <date>": what the technician is promised before accepting."""
    assignment = subject.assignment
    if assignment is None or assignment.firm_id is None:
        return None
    terms = settings_of(assignment.firm_id)
    when = ("the day it is approved" if terms.payment_terms_days == 0
            else f"{terms.payment_terms_days} days after it is approved")
    return {"paid_on": promised_date(assignment), "explanation": (
        f"Hand the work in on its last day: {assignment.firm.name} approves it, or it is "
        f"approved automatically after {terms.auto_approve_days} days; you are paid {when}. "
        "Approved sooner, you are paid sooner.")}
