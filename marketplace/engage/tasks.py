"""Celery tasks: advance staged routing and expire offers every minute."""
from __future__ import annotations

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="engage.advance_routing")
def advance_routing_task() -> dict:
    from .offers import expire_offers
    from .routing import advance_routing
    return {"stages_started": advance_routing(), "offers_expired": expire_offers()}


def init_app(app) -> None:
    add_beat(app, "engage-advance-routing", "engage.advance_routing", 60.0)
