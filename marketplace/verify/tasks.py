"""Celery task for the daily expiry sweep (its beat entry is added in verify's init_app)."""
from __future__ import annotations

from datetime import date

from ..extensions import celery


@celery.task(name="marketplace.verify.sweep")
def sweep(on: str | None = None) -> dict:
    from .expiry import run_sweep
    result = run_sweep(date.fromisoformat(on) if on else None)
    return {"on": result.on.isoformat(), "reminders": result.reminders,
            "expired": result.expired, "suspended": result.suspended}
