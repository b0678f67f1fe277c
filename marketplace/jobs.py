"""The Celery app's configuration, the tasks' transaction boundary and the beat schedule.

Tasks take ids, open an app context and call services; `AppContextTask` commits
once when the task succeeds and rolls back on any error. Without REDIS_URL,
tasks run eagerly inline. Stages add beat entries through the `beat` hook.
"""
from __future__ import annotations

from celery import Celery, Task
from celery.utils import uuid
from flask import Flask, current_app, has_app_context
from kombu import serialization

from .core import clock
from .core.hooks import hooks
from .extensions import celery, db

BEAT_HOOK = "beat"


class AppContextTask(Task):
    """Every task runs in an app context and owns its transaction."""

    abstract = True

    def __call__(self, *args, **kwargs):
        # Eager tasks run inside the caller's app; a worker uses the app it was built with.
        flask_app = current_app._get_current_object() if has_app_context() else self.app.flask_app
        with flask_app.app_context():
            try:
                result = self.run(*args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    def apply_async(self, args=None, kwargs=None, task_id=None, **options):
        if not self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        # Celery's own eager path sets a process-wide "joins would block" flag around
        # the call and restores the value it read; threads doing that at once leave it
        # set for good, and every later result.get() in the process refuses. So run
        # eagerly here, after the same serialization round trip a broker would make.
        serializer = options.pop("serializer", None) or self.app.conf.task_serializer
        content_type, encoding, data = serialization.dumps((args or (), kwargs or {}), serializer)
        args, kwargs = serialization.loads(data, content_type, encoding, accept=[content_type])
        return self.apply(args, kwargs, task_id=task_id or uuid(), **options)


def add_beat(app: Flask, name: str, task: str, schedule) -> None:
    """A periodic task: `schedule` in seconds or a celery crontab."""
    hooks(app).put(BEAT_HOOK, name, {"task": task, "schedule": schedule})


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
        task_default_queue=app.config.get("CELERY_QUEUE", "marketplace"),
    )
    celery.flask_app = app
    celery.set_default()
    app.extensions["celery"] = celery
    add_beat(app, "outbox-relay", "marketplace.outbox.relay", 30.0)
    return celery


def install_beat(app: Flask) -> None:
    """Call once every stage has registered its entries."""
    celery.conf.beat_schedule = hooks(app).mapping(BEAT_HOOK)


@celery.task(name="marketplace.heartbeat")
def heartbeat(note: str = "") -> dict:
    """A trivial real task: proves the worker reaches the database and the clock."""
    from sqlalchemy import text
    count = db.session.execute(text("SELECT 1")).scalar_one()
    return {"ok": count == 1, "at": clock.now().isoformat(), "note": note}

