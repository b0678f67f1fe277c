"""The platform's mean of each reliability component: what a score is shrunk toward.

Stored, not computed per update (a mean over every technician would serialise all
updates on one row): the recompute refreshes them, daily and on demand. Until there
is data, the defaults documented in reliability stand.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select

from ..core import clock
from ..core.transactions import per_transaction
from ..extensions import db
from .models import EventStatus, PlatformMean, RateEvent
from .reliability import COMPONENT_SHARES, DEFAULT_MEANS, KINDS

_KEY = "rate_means"
# A component's mean needs this much platform data before it replaces the default.
MIN_WEIGHT = 20.0


def current() -> dict[str, float]:
    """The stored means (read once per transaction), defaults where none is stored."""
    cached = db.session.info.get(_KEY)
    if cached is None:
        cached = dict(DEFAULT_MEANS)
        for row in db.session.scalars(select(PlatformMean)):
            cached[row.component] = row.mean
        db.session.info[_KEY] = cached
    return cached


def columns() -> list:
    """The stored means as scalar subqueries (to read them with something else)."""
    return [select(PlatformMean.mean).where(PlatformMean.component == c).scalar_subquery()
            .label(f"m_{c}") for c in COMPONENT_SHARES]


_APP_KEY = "rate.means"


def cached() -> tuple[dict[str, float], int]:
    """The means as this process last read them, and how many rows were stored: kept per
    app between transactions (a writer that scores with them checks they still hold, see
    `unchanged`, and calls `reload` when they do not)."""
    found = current_app.extensions.get(_APP_KEY)
    return found if found is not None else reload()


def reload() -> tuple[dict[str, float], int]:
    rows = db.session.execute(select(PlatformMean.component, PlatformMean.mean)).all()
    found = (DEFAULT_MEANS | {c: m for c, m in rows}, len(rows))
    current_app.extensions[_APP_KEY] = found
    return found


def unchanged():
    """SQL: the stored means are still those `cached()` gave (parameters m_<component>
    and m_count), so a write scored with them can be made conditional on it."""
    p = PlatformMean
    given = case(*((p.component == c, bindparam(f"m_{c}")) for c in COMPONENT_SHARES),
                 else_=None)
    differs = select(p.component).where(or_(given.is_(None), p.mean != given)).exists()
    count = select(func.count()).select_from(p).scalar_subquery()
    return and_(~differs, count == bindparam("m_count"))


def remember(values: list[float | None]) -> dict[str, float]:
    """The means read by `columns()`, kept for the transaction like `current()`'s."""
    found = {c: (DEFAULT_MEANS[c] if v is None else v)
             for c, v in zip(COMPONENT_SHARES, values)}
    db.session.info[_KEY] = found
    return found


def computed() -> dict[str, tuple[float, float]]:
    """{component: (mean, weight)} over every counted event, unweighted by recency."""
    kind_component = [(kind, component) for kind, (component, _, _) in KINDS.items()
                      if component]
    rows = db.session.execute(
        select(RateEvent.kind, func.sum(RateEvent.weight * RateEvent.value),
               func.sum(RateEvent.weight))
        .where(RateEvent.status == EventStatus.COUNTED.value)
        .group_by(RateEvent.kind)).all()
    by_component: dict[str, list[float]] = {c: [0.0, 0.0] for c in COMPONENT_SHARES}
    mapping = dict(kind_component)
    for kind, value_sum, weight_sum in rows:
        component = mapping.get(kind)
        if component:
            by_component[component][0] += float(value_sum or 0)
            by_component[component][1] += float(weight_sum or 0)
    return {c: ((v / w) if w >= MIN_WEIGHT else DEFAULT_MEANS[c], w)
            for c, (v, w) in by_component.items()}


def refresh() -> dict[str, float]:
    """Store the platform's means afresh; returns them."""
    found = computed()
    for component, (mean, weight) in found.items():
        row = db.session.get(PlatformMean, component)
        if row is None:
            db.session.add(PlatformMean(component=component, mean=mean, weight=weight))
        else:
            row.mean, row.weight, row.updated_at = mean, weight, clock.now()
    db.session.flush()
    db.session.info[_KEY] = {c: m for c, (m, _) in found.items()}
    current_app.extensions.pop(_APP_KEY, None)
    return dict(db.session.info[_KEY])


def forget() -> None:
    db.session.info.pop(_KEY, None)



per_transaction(_KEY)
