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

What a transaction owes before it commits (a stage's recounts, the audit rows it kept
to write together) runs as `before_commit(step)` steps, in the order registered, the
`last=True` ones after all others: a step may leave work for a later one, never for
an earlier one.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "after_commit_callbacks"
_UNDO = "after_rollback_callbacks"
_PER_TRANSACTION: set[str] = set()
_SCOPED: set[str] = set()
_STEPS: list[Callable[[Session], None]] = []
_LAST_STEPS: list[Callable[[Session], None]] = []


def per_transaction(*keys: str) -> None:
    """Declare `session.info` keys that last as long as the outermost transaction."""
    _PER_TRANSACTION.update(keys)


def savepoint_scoped(*keys: str) -> None:
    """Declare per-transaction `session.info` lists filled by `keep_scoped`: a savepoint
    rolled back drops what was kept inside it."""
    _SCOPED.update(keys)
    per_transaction(*keys)


def keep_scoped(session: Session, key: str, items) -> None:
    """Keep `items` under `key`, tagged with the transaction they belong to."""
    tag = _innermost(session)
    session.info.setdefault(key, []).extend((tag, item) for item in items)


def before_commit(step: Callable[[Session], None], *, last: bool = False) -> None:
    """Run `step(session)` before each commit (a savepoint's release included)."""
    steps = _LAST_STEPS if last else _STEPS
    if step not in steps:
        steps.append(step)


@event.listens_for(Session, "before_commit")
def _run_steps(session: Session) -> None:
    for step in (*_STEPS, *_LAST_STEPS):
        step(session)


def _innermost(session: Session):
    """The transaction a change made now belongs to (a savepoint, or the outermost)."""
    return session.get_nested_transaction() or session.get_transaction()


def _within(transaction, ancestor) -> bool:
    """Whether `transaction` is `ancestor` or nested inside it."""
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def on_commit(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_KEY, []).append((_innermost(db.session()), callback))


def on_rollback(callback: Callable[[], None]) -> None:
    from ..extensions import db
    db.session.info.setdefault(_UNDO, []).append((_innermost(db.session()), callback))


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
        for key in _SCOPED:
            if session.info.get(key):
                session.info[key] = [(tag, item) for tag, item in session.info[key]
                                     if not _within(tag, previous_transaction)]
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
