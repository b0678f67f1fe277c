"""Celery task: approve silent submissions once their review time has passed (hourly)."""
from __future__ import annotations

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="pay.auto_approve")
def auto_approve_task() -> dict:
    from .approval import auto_approve_due
    return {"auto_approved": auto_approve_due()}


def init_app(app) -> None:
    add_beat(app, "pay-auto-approve", "pay.auto_approve", 3600.0)
