"""The reliability score (0–100): its formula, written once, and its explanation.

Each observed event belongs to one component and carries a value (1 good, 0 bad; a
rating's stars map to 0–1) and a weight (worse events weigh more):

| component  | events (value, weight)                                                  | share |
|------------|--------------------------------------------------------------------------|-------|
| arrival    | on time (1, 1), late (0, 1), no-show (0, 2)                              | 30 %  |
| commitment | kept: checked in (1, 1), backout (0, 1), backout < 24 h before (0, 2)     | 30 %  |
| completion | approved first time (1, 1), approved after a revisit (0, 1)              | 15 %  |
| sla        | approved with no breached SLA clock (1, 1), with a breach (0, 1)         | 10 %  |
| rating     | a revealed rating by the firm, (stars - 1) / 4 (weight 1)                | 15 %  |

Recent work counts more: an event's weight halves every 180 days back from the
technician's latest event (so a score changes only when something happens). Each
component's rate is shrunk toward the platform's mean of it by a prior worth 5 jobs:

    rate_c = (sum of w·v + 5 · mean_c) / (sum of w + 5)
    reliability = 100 · Σ share_c · rate_c

so one 5-star job (rate ≈ (1 + 5·mean)/6) ranks below two hundred 4.9-star jobs. Events
outside the technician's control do not count: a firm's cancellation produces none, a
site reported not ready excuses the job's arrival, completion and SLA events, and an
event an admin struck on dispute is dropped. The score is shown from 5 completed jobs.

The functions take any object with the scorecard's attributes: a `TechnicianScore`, a
plain namespace, or the table's columns (the recompute builds its SQL from the same
arithmetic).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case

COMPONENT_SHARES = {"arrival": 0.30, "commitment": 0.30, "completion": 0.15, "sla": 0.10,
                    "rating": 0.15}
COMPONENT_NAMES = {"arrival": "On-time arrival", "commitment": "Kept commitments",
                   "completion": "First-time completion", "sla": "SLA adherence",
                   "rating": "Rating"}
PRIOR_WEIGHT = 5.0
HALF_LIFE_DAYS = 180.0
MIN_COMPLETED = 5
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
# Before the platform has data of its own (the recompute refreshes them daily).
DEFAULT_MEANS = {"arrival": 0.9, "commitment": 0.95, "completion": 0.9, "sla": 0.9,
                 "rating": 0.9}

# kind: (component or None, value, weight); a rating's value comes from its stars.
KINDS: dict[str, tuple[str | None, float, float]] = {
    "on_time": ("arrival", 1.0, 1.0),
    "late": ("arrival", 0.0, 1.0),
    "no_show": ("arrival", 0.0, 2.0),
    "kept": ("commitment", 1.0, 1.0),
    "backout": ("commitment", 0.0, 1.0),
    "late_backout": ("commitment", 0.0, 2.0),
    "first_time": ("completion", 1.0, 1.0),
    "revisited": ("completion", 0.0, 1.0),
    "sla_met": ("sla", 1.0, 1.0),
    "sla_missed": ("sla", 0.0, 1.0),
    "completed": (None, 1.0, 0.0),
    "rated": ("rating", 1.0, 1.0),
}
KIND_LABELS = {"on_time": "Arrived on time", "late": "Arrived late", "no_show": "No-show",
               "kept": "Turned up as agreed", "backout": "Backed out",
               "late_backout": "Backed out within 24 hours", "first_time": "Done first time",
               "revisited": "Needed a revisit", "sla_met": "SLA met", "sla_missed": "SLA missed",
               "completed": "Completed", "rated": "Rated by the firm"}


def growth_at(at: datetime) -> float:
    """The recency factor of an event at `at`: doubles every half-life after the epoch,
    so sums of weight × growth compare recent and old work at any later anchor."""
    days = (at - EPOCH).total_seconds() / 86400.0
    return math.pow(2.0, days / HALF_LIFE_DAYS)


def stars_value(stars: int) -> float:
    return (stars - 1) / 4.0


def component_rate(card, component: str, means: dict[str, float]):
    """The shrunk rate of one component (a number, or SQL over the scorecard's columns)."""
    w = getattr(card, f"{component}_w")
    v = getattr(card, f"{component}_v")
    return (v / card.growth + PRIOR_WEIGHT * means[component]) / \
        (w / card.growth + PRIOR_WEIGHT)


def raw_score(card, means: dict[str, float]):
    """100 · Σ share · shrunk rate, whatever the number of completed jobs."""
    total = 0.0
    for component, share in COMPONENT_SHARES.items():
        total = total + (100.0 * share) * component_rate(card, component, means)
    return total


def score(card, means: dict[str, float]) -> float | None:
    """The score shown and ranked by: None ("new") before MIN_COMPLETED completed jobs."""
    if card is None or card.n_completed < MIN_COMPLETED:
        return None
    return raw_score(card, means)


def score_sql(columns, means: dict[str, float]):
    """The same rule as SQL over the scorecard table's columns."""
    return case((columns.n_completed >= MIN_COMPLETED, raw_score(columns, means)), else_=None)


@dataclass
class Component:
    key: str
    name: str
    share: float
    rate: float            # shrunk, 0–1
    observed: float | None  # recency-weighted, unshrunk; None with no events
    mean: float
    weight: float          # recency-weighted number of events
    gain: float            # points one more good event would add
    loss: float            # points its worst event would take
    worst: str             # that event's kind


def worst_kind(component: str) -> tuple[str, float]:
    """The component's heaviest bad event: (kind, weight)."""
    bad = [(weight, kind) for kind, (c, value, weight) in KINDS.items()
           if c == component and value == 0.0]
    if not bad:          # a rating: one star
        return "rated", 1.0
    weight, kind = max(bad)
    return kind, weight


def components(card, means: dict[str, float]) -> list[Component]:
    """Every component with its shrunk and observed rate, and what would move it."""
    found = []
    for key, share in COMPONENT_SHARES.items():
        w = getattr(card, f"{key}_w") / card.growth
        v = getattr(card, f"{key}_v") / card.growth
        m = means[key]
        rate = (v + PRIOR_WEIGHT * m) / (w + PRIOR_WEIGHT)
        good = (v + 1 + PRIOR_WEIGHT * m) / (w + 1 + PRIOR_WEIGHT)
        kind, bad_weight = worst_kind(key)
        bad = (v + PRIOR_WEIGHT * m) / (w + bad_weight + PRIOR_WEIGHT)
        found.append(Component(key, COMPONENT_NAMES[key], share, rate,
                               (v / w) if w > 1e-9 else None, m, w,
                               100 * share * (good - rate), 100 * share * (rate - bad), kind))
    return found


def event_effect(card, means: dict[str, float], component: str, value: float, weight: float,
                 growth: float) -> float:
    """Points this one event moved the score by: the score with it less the score
    without it (the rest of the card unchanged)."""
    share = COMPONENT_SHARES[component]
    w = getattr(card, f"{component}_w") / card.growth
    v = getattr(card, f"{component}_v") / card.growth
    m = means[component]
    ew, ev = weight * growth / card.growth, weight * value * growth / card.growth
    with_it = (v + PRIOR_WEIGHT * m) / (w + PRIOR_WEIGHT)
    without = (v - ev + PRIOR_WEIGHT * m) / (max(w - ew, 0.0) + PRIOR_WEIGHT)
    return 100 * share * (with_it - without)


def most_moving(parts: list[Component]) -> tuple[Component, Component]:
    """(the component where a good event would add most, where a bad one would cost most)."""
    return max(parts, key=lambda c: c.gain), max(parts, key=lambda c: c.loss)
