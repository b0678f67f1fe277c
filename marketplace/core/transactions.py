"""Side effects tied to the transaction's outcome.

Services call `on_commit(fn)` for what must wait for the commit (email,
webhooks, task sends): the callbacks run after the caller commits and are
dropped if it rolls back, so nothing is announced that did not happen. They
call `on_rollback(fn)` to undo what had to happen first (a file written before
the row naming it): run if the transaction rolls back, dropped on commit.

What a transaction read or did that later steps of the same transaction reuse (the
locks it holds, rules it read, recounts it owes) lives under `session.info` keys that
modules declare with `per_transaction(key)`: they are forgotten when the outermost
transaction ends, committed or rolled back.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "after_commit_callbacks"
_UNDO = "after_rollback_callbacks"
_PER_TRANSACTION: set[str] = set()


def per_transaction(*keys: str) -> None:
    """Declare `session.info` keys that last as long as the outermost transaction."""
    _PER_TRANSACTION.update(keys)


def on_commit(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_KEY, []).append(callback)


def on_rollback(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_UNDO, []).append(callback)


def _run(callbacks: list[Callable[[], None]], what: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failure must not hide the others
            current_app.logger.exception("%s callback failed", what)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    session.info.pop(_UNDO, None)
    _run(session.info.pop(_KEY, []), "after-commit")


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop(_KEY, None)
    _run(session.info.pop(_UNDO, []), "after-rollback")


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in _PER_TRANSACTION:
            session.info.pop(key, None)
