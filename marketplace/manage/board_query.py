"""The board's one statement: a firm's jobs for today and this week, with their flags
judged by the database.

The flags are the rules of `arrival.state_of` (no-show, late), `sla.clocks` (a clock
missed or breached; one at risk) with the firm's settings or `geofence.DEFAULTS`, an
open visit checked in outside the fence, and unfilled work near its start. They are
written here as SQL so that 500 rows need no Python per row;
tests/manage/test_board_rules.py holds them equal to those functions, case by case.
Time arithmetic is exact on both databases: an interval on PostgreSQL; on SQLite, whose
instants are 'YYYY-MM-DD HH:MM:SS.ffffff' text, whole minutes move the first 19
characters and the fraction is carried over.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import (Interval, and_, bindparam, case, func, literal_column, or_, select,
                        true, type_coerce)

from ..accounts.models import TechnicianProfile, User
from ..core.types import UTCDateTime
from ..engage.models import Offer, OfferStatus
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment as A
from ..find.models import ScheduleKind
from .geofence import DEFAULTS
from .models import Arrival, Geofence, ManageSettings, Visit, WorkRecord

SHOWN = (S.PUBLISHED, S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED)
LIMIT = 500
NEAR_START = timedelta(hours=4)
# What the statement returns of each job, in order; then the assignee's name, the open
# visit's position, and the flags: arrival, off site, unfilled soon, SLA (each or NULL).
COLUMNS = ("id", "title", "address", "lat", "lon", "timezone", "starts_at", "ends_at",
           "status", "assignee_id")
_MINUTE = literal_column("interval '1 minute'", Interval())


def plus_minutes(instant, minutes, dialect: str):
    """`instant` + `minutes` (an integer expression), as an instant; NULL if either is."""
    if dialect == "postgresql":
        return instant + minutes * _MINUTE
    moved = func.strftime("%Y-%m-%d %H:%M:%S", func.substr(instant, 1, 19),
                          minutes.op("||", precedence=100)(" minutes"))   # NULL stays NULL
    return type_coerce(moved.op("||")(func.substr(instant, 20)), UTCDateTime)


def _setting(name: str):
    """The firm's setting, or the default a firm without settings has."""
    return func.coalesce(
        select(getattr(ManageSettings, name))
        .where(ManageSettings.firm_id == bindparam("firm_id")).scalar_subquery(),
        getattr(DEFAULTS, name))


def _arrival(a, w, now, dialect: str):
    """`arrival.state_of`: 'no_show', 'late' or NULL."""
    late_at = plus_minutes(a.c.starts_at, _setting("late_minutes"), dialect)
    return case(
        (and_(w.no_show_at.is_not(None), w.first_checkin_at.is_(None)), "no_show"),
        (and_(a.c.status == S.ASSIGNED, w.first_checkin_at.is_(None),
              a.c.schedule_kind == ScheduleKind.WINDOW, late_at < now), "late"),
        (w.arrival == Arrival.LATE, "late"),
        else_=None)


def _sla(a, w, now, dialect: str):
    """`sla.clocks` folded into one flag: 'sla_breached' when a clock was missed or has
    run out, else 'sla_at_risk' when one is in its warning time, else NULL (the board
    shows no cancelled work, whose clocks stop). One subquery per job with a target
    reads the accepted offer, which ends the response clock."""
    accepted_at = func.max(Offer.responded_at)
    warn = _setting("sla_warning_minutes")
    clocks = (  # (start, target minutes, when it was met), as `sla._due` and `sla.clocks`
        (a.c.published_at, a.c.sla_response_minutes, accepted_at),
        (a.c.starts_at, a.c.sla_arrival_minutes, w.first_checkin_at),
        (a.c.ends_at, a.c.sla_completion_minutes, w.submitted_at))
    breached, at_risk = [], []
    for start, minutes, met_at in clocks:
        due = plus_minutes(start, minutes, dialect)
        breached.append(and_(met_at.is_not(None), met_at > due))                    # missed
        breached.append(and_(met_at.is_(None), due < now))
        at_risk.append(and_(met_at.is_(None), due >= now,
                            plus_minutes(start, minutes - warn, dialect) < now))
    judged = (select(case((or_(*breached), "sla_breached"), (or_(*at_risk), "sla_at_risk"),
                          else_=None))
              .where(Offer.assignment_id == a.c.id, Offer.status == OfferStatus.ACCEPTED)
              .scalar_subquery())
    targets = or_(*(minutes.is_not(None) for _, minutes, _ in clocks))
    return case((targets, judged), else_=None)


def fetch(firm_id: int, now: datetime, start: datetime, end: datetime) -> list:
    """The firm's first 500 jobs by start that are in progress or meet [start, end), as
    plain rows (COLUMNS, then the name, position and flags) in that order."""
    return db.session.connection().execute(statement(db.engine.dialect.name), {
        "firm_id": firm_id, "now": now, "start": start, "end": end,
        "soon": now + NEAR_START}).all()


@lru_cache(maxsize=4)
def statement(dialect: str):
    """The board's statement for `dialect`. Built once: only the values change."""
    now = bindparam("now", type_=UTCDateTime())
    shown = (select(*(getattr(A, n) for n in COLUMNS), A.schedule_kind, A.published_at,
                    A.sla_response_minutes, A.sla_arrival_minutes, A.sla_completion_minutes)
             .where(A.firm_id == bindparam("firm_id"), A.status.in_(SHOWN),
                    (A.ends_at >= bindparam("start", type_=UTCDateTime()))
                    & (A.starts_at < bindparam("end", type_=UTCDateTime()))
                    | (A.status == S.IN_PROGRESS))
             .order_by(A.starts_at, A.id).limit(LIMIT).subquery("shown"))
    w = WorkRecord
    v = (select(Visit.id, Visit.checkin_geofence, Visit.checkin_lat, Visit.checkin_lon)
         .where(Visit.assignment_id == shown.c.id, Visit.checkout_at.is_(None)))
    if dialect == "postgresql":
        # Probed per job through the unique open-visit index: the planner expects few
        # jobs in a week's window and would otherwise scan every open visit per job.
        v = v.limit(1).lateral("v")
        open_visit = true()
    else:
        v = Visit.__table__
        open_visit = and_(v.c.assignment_id == shown.c.id, v.c.checkout_at.is_(None))
    off_site = case((and_(v.c.id.is_not(None), v.c.checkin_geofence != Geofence.INSIDE),
                     "off_site"), else_=None)
    unfilled = case((and_(shown.c.status == S.PUBLISHED,
                          shown.c.starts_at < bindparam("soon", type_=UTCDateTime())),
                     "unfilled_soon"), else_=None)
    return (select(*(shown.c[n] for n in COLUMNS), User.name, v.c.checkin_lat, v.c.checkin_lon,
                   _arrival(shown, w, now, dialect), off_site, unfilled,
                   _sla(shown, w, now, dialect))
            .select_from(shown)
            .outerjoin(TechnicianProfile, TechnicianProfile.id == shown.c.assignee_id)
            .outerjoin(User, User.id == TechnicianProfile.user_id)
            .outerjoin(w, w.assignment_id == shown.c.id)
            .outerjoin(v, open_visit)
            .order_by(shown.c.starts_at, shown.c.id))
