"""The daily digest: a Celery task and its beat entry (07:00 UTC)."""
from __future__ import annotations

from ..extensions import celery
from ..jobs import add_beat


@celery.task(name="notifications.send_digests")
def send_digests_task() -> dict:
    from .services import send_digests
    return {"digests": send_digests()}


def init_app(app) -> None:
    from celery.schedules import crontab
    add_beat(app, "notifications-daily-digest", "notifications.send_digests",
             crontab(minute=0, hour=7))
