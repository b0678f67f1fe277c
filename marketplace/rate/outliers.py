"""What an admin should look at: sudden drops, comments reported often, and rating rings
(one firm and one technician rating each other highly, and hardly anyone else)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..accounts.models import Firm, TechnicianProfile
from ..core import clock
from ..extensions import db
from .models import Direction, EventStatus, RateEvent, Rating, RatingReport

DROP_DAYS, DROP_EVENTS = 14, 3          # this many score-lowering events in this many days
REPORT_DAYS, REPORTS = 30, 2            # this many reports of one person's comments
RING_MIN, RING_STARS, RING_SHARE = 5, 4.8, 0.8


@dataclass
class Outlier:
    kind: str           # drop | reports | ring
    technician: TechnicianProfile | None
    firm: Firm | None
    detail: str


def _drops(now) -> list[Outlier]:
    bad = (RateEvent.value < 1.0) & (RateEvent.kind != "rated") & (RateEvent.kind != "completed")
    rows = db.session.execute(
        select(RateEvent.technician_id, func.count())
        .where(RateEvent.occurred_at >= now - timedelta(days=DROP_DAYS), bad,
               RateEvent.status == EventStatus.COUNTED.value)
        .group_by(RateEvent.technician_id).having(func.count() >= DROP_EVENTS)
        .order_by(func.count().desc()).limit(50)).all()
    techs = {t.id: t for t in db.session.scalars(select(TechnicianProfile).where(
        TechnicianProfile.id.in_([r[0] for r in rows])))}
    return [Outlier("drop", techs.get(tid), None,
                    f"{n} no-shows, late arrivals, backouts or misses in {DROP_DAYS} days")
            for tid, n in rows]


def _reported(now) -> list[Outlier]:
    rows = db.session.execute(
        select(Rating.technician_id, Rating.firm_id, Rating.direction, func.count())
        .join(RatingReport, RatingReport.rating_id == Rating.id)
        .where(RatingReport.created_at >= now - timedelta(days=REPORT_DAYS))
        .group_by(Rating.technician_id, Rating.firm_id, Rating.direction)
        .having(func.count() >= REPORTS).limit(50)).all()
    out = []
    for tech_id, firm_id, direction, n in rows:
        author_is_firm = direction == Direction.OF_TECHNICIAN
        out.append(Outlier("reports", db.session.get(TechnicianProfile, tech_id),
                           db.session.get(Firm, firm_id),
                           f"{n} reports in {REPORT_DAYS} days of comments written by the "
                           f"{'firm' if author_is_firm else 'technician'}"))
    return out


def _rings() -> list[Outlier]:
    pair = (select(Rating.firm_id, Rating.technician_id, func.count().label("n"),
                   func.avg(Rating.overall).label("stars"))
            .where(Rating.direction == Direction.OF_TECHNICIAN, Rating.revealed_at.is_not(None))
            .group_by(Rating.firm_id, Rating.technician_id)
            .having(func.count() >= RING_MIN).subquery())
    total = (select(Rating.technician_id, func.count().label("n"))
             .where(Rating.direction == Direction.OF_TECHNICIAN, Rating.revealed_at.is_not(None))
             .group_by(Rating.technician_id).subquery())
    rows = db.session.execute(
        select(pair.c.firm_id, pair.c.technician_id, pair.c.n, pair.c.stars, total.c.n)
        .join(total, total.c.technician_id == pair.c.technician_id)
        .where(pair.c.stars >= RING_STARS, pair.c.n >= total.c.n * RING_SHARE).limit(50)).all()
    return [Outlier("ring", db.session.get(TechnicianProfile, tech_id),
                    db.session.get(Firm, firm_id),
                    f"{n} of the technician's {of} ratings come from this firm, "
                    f"averaging {float(stars):.1f}★")
            for firm_id, tech_id, n, stars, of in rows]


def find_outliers() -> list[Outlier]:
    now = clock.now()
    return _drops(now) + _reported(now) + _rings()
