"""The Celery app's configuration, its tasks and the beat schedule.

Tasks take ids, open an app context and call services; they own their
transaction (commit at the end). Without REDIS_URL, tasks run eagerly inline.
"""
from __future__ import annotations

from celery import Celery
from flask import Flask

from . import clock
from .extensions import celery, db

BEAT_SCHEDULE: dict[str, dict] = {}


def init_app(app: Flask) -> Celery:
    redis_url = app.config.get("REDIS_URL")

    celery.conf.update(
        broker_url=redis_url or "memory://",
        result_backend=redis_url or "cache+memory://",
        task_always_eager=app.config.get("CELERY_EAGER", redis_url is None),
        task_eager_propagates=True,
        task_ignore_result=False,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=BEAT_SCHEDULE,
        task_default_queue=app.config.get("CELERY_QUEUE", "marketplace"),
    )
    celery.flask_app = app
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


@celery.task(name="marketplace.heartbeat")
def heartbeat(note: str = "") -> dict:
    """A trivial real task: proves the worker reaches the database and the clock."""
    from sqlalchemy import text
    count = db.session.execute(text("SELECT 1")).scalar_one()
    return {"ok": count == 1, "at": clock.now().isoformat(), "note": note}
