"""A technician's scorecard as people read it: the figures over 90 days and all time,
the reliability score with every component and the platform mean, every event that
moved it (and by how much), what would move it most, and what can be disputed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ..accounts.models import TechnicianProfile
from ..core import clock
from ..extensions import db
from . import means as means_mod
from .models import COUNT_KINDS, Dispute, EventStatus, RateEvent, TechnicianScore
from .reliability import (KIND_LABELS, KINDS, MIN_COMPLETED, Component, components,
                          event_effect, most_moving, raw_score, score)

RECENT_DAYS = 90
DISPUTE_DAYS = 14


@dataclass
class Figures:
    """Counts of one period (counted events only)."""
    counts: dict[str, int]
    stars_sum: int

    def n(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    @property
    def completed(self) -> int:
        return self.n("completed")

    @staticmethod
    def _share(good: int, total: int) -> float | None:
        return (good / total) if total else None

    @property
    def on_time_rate(self) -> float | None:
        return self._share(self.n("on_time"), self.n("on_time") + self.n("late")
                           + self.n("no_show"))

    @property
    def first_time_rate(self) -> float | None:
        return self._share(self.n("first_time"), self.n("first_time") + self.n("revisited"))

    @property
    def sla_rate(self) -> float | None:
        return self._share(self.n("sla_met"), self.n("sla_met") + self.n("sla_missed"))

    @property
    def rating(self) -> float | None:
        return (self.stars_sum / self.n("rated")) if self.n("rated") else None


@dataclass
class EventLine:
    event: RateEvent
    label: str
    effect: float | None      # points; None when it does not count
    dispute: Dispute | None
    can_dispute: bool


@dataclass
class Scorecard:
    technician: TechnicianProfile
    card: TechnicianScore | None
    means: dict[str, float]
    reliability: float | None
    provisional: float | None          # the score before MIN_COMPLETED jobs (shown to them)
    parts: list[Component]
    all_time: Figures
    recent: Figures
    lines: list[EventLine] = field(default_factory=list)
    best_gain: Component | None = None
    worst_loss: Component | None = None

    @property
    def is_new(self) -> bool:
        return self.reliability is None

    @property
    def jobs_to_score(self) -> int:
        return max(0, MIN_COMPLETED - self.all_time.completed)

    @property
    def kind_labels(self) -> dict[str, str]:
        return KIND_LABELS

    @property
    def platform_mean(self) -> float:
        return sum(c.share * c.mean for c in self.parts) * 100


def _empty_card(technician_id: int) -> TechnicianScore:
    card = TechnicianScore(technician_id=technician_id, growth=1.0, n_completed=0)
    for name in TechnicianScore.__table__.c.keys():
        if getattr(card, name, None) is None and name not in ("reliability", "updated_at"):
            setattr(card, name, 0.0 if name.endswith(("_w", "_v")) else 0)
    card.growth = 1.0
    return card


def card_for(technician_id: int) -> TechnicianScore | None:
    return db.session.get(TechnicianScore, technician_id)


def _recent_columns(technician_id, since: datetime) -> tuple[list, object]:
    """A one-row subquery of the technician's counted events since `since`, by kind."""
    e = RateEvent
    mine = (e.technician_id == technician_id) & (e.occurred_at >= since) & \
        (e.status == EventStatus.COUNTED.value)
    sub = select(*(func.sum(case((e.kind == k, 1), else_=0)).label(f"r_{k}")
                   for k in COUNT_KINDS),
                 func.sum(case((e.kind == "rated", e.value), else_=0.0)).label("r_vs")) \
        .where(mine).subquery("recent")
    return [sub.c[f"r_{k}"] for k in COUNT_KINDS] + [sub.c.r_vs], sub


def _figures(values) -> Figures:
    counts = {k: int(v or 0) for k, v in zip(COUNT_KINDS, values)}
    stars = round(counts.get("rated", 0) + 4 * float(values[-1] or 0))
    return Figures(counts, stars)


def load(technician_id: int, firm_id: int | None = None):
    """In one statement: the scorecard row, the platform means, the last 90 days'
    figures and (for a firm) its standing with the technician."""
    from . import lists
    recent_cols, recent = _recent_columns(technician_id,
                                          clock.now() - timedelta(days=RECENT_DAYS))
    extra = lists.standing_columns(firm_id, technician_id) if firm_id else []
    stmt = (select(TechnicianScore, *means_mod.columns(), *recent_cols, *extra)
            .select_from(recent)
            .outerjoin(TechnicianScore, TechnicianScore.technician_id == technician_id))
    row = db.session.execute(stmt).one()
    n_means = len(means_mod.columns())
    means = means_mod.remember(list(row[1:1 + n_means]))
    rest = row[1 + n_means:]
    figures = _figures(rest[:len(recent_cols)])
    standing = lists.standing_of(*rest[len(recent_cols):]) if firm_id else None
    return row[0], means, figures, standing


def scorecard(technician: TechnicianProfile, *, with_events: bool = False,
              event_limit: int = 100, loaded=None) -> Scorecard:
    card, means, recent, _ = loaded or load(technician.id)
    shown = card or _empty_card(technician.id)
    all_time = Figures({k: getattr(shown, f"n_{k}") for k in COUNT_KINDS}, shown.stars_sum)
    parts = components(shown, means)
    result = Scorecard(technician, card, means, score(shown, means),
                       raw_score(shown, means) if card else None, parts, all_time, recent)
    result.best_gain, result.worst_loss = most_moving(parts)
    if with_events:
        result.lines = event_lines(technician.id, shown, means, event_limit)
    return result


def event_lines(technician_id: int, card, means, limit: int) -> list[EventLine]:
    """The technician's events, newest first, each with the points it moved."""
    now = clock.now()
    events = list(db.session.scalars(
        select(RateEvent).where(RateEvent.technician_id == technician_id)
        .order_by(RateEvent.occurred_at.desc(), RateEvent.id.desc()).limit(limit)))
    disputes = {(d.assignment_id, d.kind): d for d in db.session.scalars(
        select(Dispute).where(Dispute.technician_id == technician_id))}
    lines = []
    for e in events:
        component = KINDS[e.kind][0]
        effect = None
        if component is not None and e.status == EventStatus.COUNTED.value:
            effect = event_effect(card, means, component, e.value, e.weight, e.growth)
        dispute = disputes.get((e.assignment_id, e.kind))
        lines.append(EventLine(e, KIND_LABELS[e.kind], effect, dispute,
                               can_dispute=dispute is None and may_dispute(e, now)))
    return lines


def may_dispute(e: RateEvent, now: datetime) -> bool:
    """A counted event that held the score down, within DISPUTE_DAYS of it."""
    return (e.status == EventStatus.COUNTED.value and KINDS[e.kind][0] is not None
            and e.kind != "rated" and e.value < 1.0
            and now - e.occurred_at <= timedelta(days=DISPUTE_DAYS))


def reliability_of(technician_ids: list[int]) -> dict[int, float | None]:
    """Stored scores of many technicians in one statement (ranking, gates)."""
    if not technician_ids:
        return {}
    rows = db.session.execute(select(TechnicianScore.technician_id,
                                     TechnicianScore.reliability)
                              .where(TechnicianScore.technician_id.in_(technician_ids)))
    return dict(rows.all())
