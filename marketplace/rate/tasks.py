"""Celery tasks: reveal ratings whose window closed and collect the no-show sweep's
marks (every 10 minutes); refresh the platform means and rebuild scorecards (daily)."""
from __future__ import annotations

from datetime import timedelta

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="rate.sweep")
def sweep_task() -> dict:
    from ..core import clock
    from . import events, ratings
    revealed = ratings.reveal_due()
    collected = events.collect_no_shows(clock.now() - timedelta(days=8))
    return {"revealed": revealed, "no_shows": collected}


@celery.task(name="rate.recompute")
def recompute_task() -> dict:
    from .recompute import recompute
    result = recompute()
    return {"technicians": result.technicians, "firms": result.firms}


def init_app(app) -> None:
    add_beat(app, "rate-sweep", "rate.sweep", 600.0)
    add_beat(app, "rate-recompute", "rate.recompute", 86400.0)
