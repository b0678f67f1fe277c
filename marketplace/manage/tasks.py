"""Celery task: the no-show and SLA sweep, every five minutes."""
from __future__ import annotations

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="manage.sweep")
def sweep_task() -> dict:
    from . import sla
    from .arrival import sweep
    return {"no_shows": len(sweep().no_shows), "sla_events": len(sla.sweep())}


def init_app(app) -> None:
    add_beat(app, "manage-no-show-sweep", "manage.sweep", 300.0)
