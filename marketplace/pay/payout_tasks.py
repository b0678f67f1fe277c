"""Payout tasks: the run after an approval's commit, the beat sweep, instant payouts.

With immediate terms, an approval's commit enqueues the run for that assignment, so
its transfer leaves within seconds; the sweep every 30 seconds catches the rest (terms
coming due, retries, intents left by a crash). Each task commits as it goes
(transfers.run is its own transaction boundary).
"""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import select

from ..core.transactions import on_commit
from ..extensions import celery, db
from ..jobs import add_beat

SWEEP_SECONDS = 30.0


@celery.task(name="pay.payouts.run")
def run_task(assignment_id: int | None = None) -> dict:
    from . import transfers
    result = transfers.run(assignment_id=assignment_id)
    return {"opened": result.opened, "sent": result.sent, "retry": result.retry,
            "failed": result.failed}


@celery.task(name="pay.payouts.sweep")
def sweep_task() -> dict:
    from . import instant, payout_reversals, transfers
    result = transfers.run()
    return {"opened": result.opened, "sent": result.sent, "retry": result.retry,
            "failed": result.failed, "instant": instant.sweep(),
            "reversed": payout_reversals.sweep()}


def enqueue_after_commit(assignment_id: int) -> None:
    """Start the assignment's payout once the approval is committed."""
    app = current_app._get_current_object()

    def start() -> None:
        if app.config.get("PAYOUTS_AFTER_COMMIT", True):
            with app.app_context():
                run_task.delay(assignment_id)
    on_commit(start)


def on_approved(assignment, **_kwargs) -> None:
    """Subscribed after the books: documents now, and the payout when it is due today."""
    from . import statements
    from .payables import Payable
    from .payout_dates import is_due
    statements.on_approved(assignment)
    due_on = db.session.scalar(select(Payable.due_on).where(
        Payable.assignment_id == assignment.id))
    if due_on is not None and is_due(due_on, assignment.timezone):
        enqueue_after_commit(assignment.id)


def init_app(app: Flask) -> None:
    add_beat(app, "payouts-sweep", "pay.payouts.sweep", SWEEP_SECONDS)
