"""Who may not take a piece of work, whatever the distance and skills say.

A technician is excluded from an assignment when its firm blocked them, when
they are booked (assigned or in progress) on other work overlapping its window,
or when they are not compliant with its requirement set on its day: the site's
local date (MatchQuery.of). The one rule, built here as SQL conditions and
composed three ways: matching search (many technicians, one assignment: bind
parameters), the feed (one technician, many assignments: columns) and
acceptance (one and one, asking which reason holds).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from ..core import clock
from ..extensions import db
from ..verify import compliance
from .models import BOOKED_STATES, Assignment, FirmBlock

BLOCKED, BOOKED, NOT_COMPLIANT = "blocked", "booked", "not_compliant"


class Work(Protocol):
    """The work judged, as plain values (matching's MatchQuery is one)."""
    firm_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    assignment_id: int | None
    requirement_set_id: int | None
    on: date | None        # the site-local day


def _is_column(value) -> bool:
    """A column of the statement being built, rather than a value or a bind parameter."""
    return not isinstance(value, (int, BindParameter))


def blocked(firm_id, technician_id):
    """The firm blocked the technician."""
    return select(FirmBlock.id).where(FirmBlock.firm_id == firm_id,
                                      FirmBlock.technician_id == technician_id).exists()


def booked(technician_id, starts_at, ends_at, other_than=None):
    """The technician is booked on work (other than `other_than`) overlapping the window.
    Against an assignment's own columns (the feed), the other work is an alias."""
    other = aliased(Assignment) if other_than is not None and _is_column(other_than) \
        else Assignment
    stmt = select(other.id).where(other.assignee_id == technician_id,
                                  other.status.in_(BOOKED_STATES),
                                  other.starts_at < ends_at, other.ends_at > starts_at)
    if other_than is not None:
        stmt = stmt.where(other.id != other_than)
    return stmt.exists()


def not_compliant(technician_id, requirement_set_id, on):
    """Not compliant with the set on the day (verify.compliance). A set given as a
    column may be NULL there: nothing to comply with, and nothing is probed."""
    unmet = compliance.unmet_condition(technician_id, requirement_set_id, on)
    if _is_column(requirement_set_id):
        return and_(requirement_set_id.is_not(None), unmet)
    return unmet


def conditions(technician_id, *, firm_id=None, starts_at=None, ends_at=None, other_than=None,
               requirement_set_id=None, on=None) -> dict[str, object]:
    """{reason: SQL condition} for every reason the arguments let us judge. Each
    argument is a value, a bind parameter or a column; one left None (a missing firm,
    window or set) is not judged."""
    found: dict[str, object] = {}
    if firm_id is not None:
        found[BLOCKED] = blocked(firm_id, technician_id)
    if starts_at is not None and ends_at is not None:
        found[BOOKED] = booked(technician_id, starts_at, ends_at, other_than)
    if requirement_set_id is not None:
        found[NOT_COMPLIANT] = not_compliant(technician_id, requirement_set_id, on)
    return found


def excluded(technician_id, **values):
    """SQL: any reason holds (the arguments as for `conditions`)."""
    return or_(*conditions(technician_id, **values).values())


def reasons(technician_id: int, query: Work) -> set[str]:
    """Which reasons keep one technician from the work `query` describes, in one statement."""
    found = conditions(technician_id, firm_id=query.firm_id, starts_at=query.starts_at,
                       ends_at=query.ends_at, other_than=query.assignment_id,
                       requirement_set_id=query.requirement_set_id,
                       on=query.on or clock.today())
    if not found:
        return set()
    row = db.session.execute(select(*(cond.label(name) for name, cond in found.items()))).one()
    return {name for name, hit in row._mapping.items() if hit}
