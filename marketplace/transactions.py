"""Side effects that must wait for the transaction: email, webhooks, task sends.

Services call `on_commit(fn)`; the callbacks run after the caller commits and
are dropped if it rolls back, so nothing is announced that did not happen.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "after_commit_callbacks"


def on_commit(callback: Callable[[], None]) -> None:
    from .extensions import db
    db.session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failed email must not hide the others
            current_app.logger.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop(_KEY, None)
