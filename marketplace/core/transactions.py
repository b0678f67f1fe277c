"""Side effects tied to the transaction's outcome.

Services call `on_commit(fn)` for what must wait for the commit (email,
webhooks, task sends): the callbacks run after the outermost transaction commits
and are dropped if it rolls back, so nothing is announced that did not happen. They
call `on_rollback(fn)` to undo what had to happen first (a file written before
the row naming it): run if the transaction rolls back, dropped on commit. A
savepoint's release is not a commit; a savepoint rolled back drops and undoes
only what was registered inside it.

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


def _innermost(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def on_commit(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_KEY, []).append((_innermost(db.session()), callback))


def on_rollback(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_UNDO, []).append((_innermost(db.session()), callback))


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _run(callbacks: list[Callable[[], None]], what: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failure must not hide the others
            current_app.logger.exception("%s callback failed", what)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    # Releasing a savepoint fires this too: only the outermost commit is a commit.
    if session.get_nested_transaction() is not None:
        return
    session.info.pop(_UNDO, None)
    _run([callback for _, callback in session.info.pop(_KEY, [])], "after-commit")


@event.listens_for(Session, "after_soft_rollback")
def _drop_callbacks(session: Session, previous_transaction) -> None:
    """A rolled-back savepoint drops and undoes only what was registered inside it; the
    outermost rollback, everything."""
    if previous_transaction.parent is None:      # the outermost: everything goes
        session.info.pop(_KEY, None)
        undo = session.info.pop(_UNDO, [])
    elif previous_transaction.nested:
        inside = [entry for entry in session.info.get(_KEY, [])
                  if _within(entry[0], previous_transaction)]
        session.info[_KEY] = [e for e in session.info.get(_KEY, []) if e not in inside]
        undo = [entry for entry in session.info.get(_UNDO, [])
                if _within(entry[0], previous_transaction)]
        session.info[_UNDO] = [e for e in session.info.get(_UNDO, []) if e not in undo]
    else:
        return
    _run([callback for _, callback in undo], "after-rollback")


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in _PER_TRANSACTION:
            session.info.pop(key, None)
