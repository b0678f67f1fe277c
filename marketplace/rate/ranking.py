"""Rate's term in find's match ranking: reliability.

The mix (lower ranks first): distance_km × (1.5 − reliability / 100), so a point of
reliability is worth 1 % of the distance: 12.4 km at 91 scores 12.4 × 0.59 = 7.3 and
ranks above 9 km at 60 (9 × 0.9 = 8.1). A technician still
"new" (under 5 completed jobs) counts at the platform's mean score: neither buried nor
lifted. The scores are the stored ones (one primary-key lookup for the candidates
found), so matching stays within its benchmark.
"""
from __future__ import annotations

from flask import Flask

from ..find.matching import RankingTerm, register_ranking_term
from . import means as means_mod
from .reliability import COMPONENT_SHARES
from .scorecards import reliability_of


def platform_score() -> float:
    means = means_mod.current()
    return 100 * sum(share * means[c] for c, share in COMPONENT_SHARES.items())


def factor(value: float | None) -> float:
    return 1.5 - (platform_score() if value is None else value) / 100


def label(value: float | None) -> str:
    return "reliability new" if value is None else f"reliability {value:.0f}"


TERM = RankingTerm("reliability", reliability_of, factor, label)


def init_app(app: Flask) -> None:
    register_ranking_term(app, TERM)
