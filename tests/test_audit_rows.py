"""A transaction's audit rows: written together by one INSERT, read by the transaction
itself, dropped with a savepoint rolled back, lost with nothing committed."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, func, select

from marketplace.core import audit
from marketplace.core.audit import AuditEntry
from marketplace.core.transactions import before_commit
from marketplace.extensions import db
from tests import factories


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_transactions_rows_are_written_by_one_insert_at_commit(app, ctx):
    user = factories.firm_user()
    db.session.commit()
    with statements() as seen:
        audit.record("test.first", user, actor=user)
        audit.record_many("test.many", "users", [{"subject_id": user.id}] * 2, actor=user)
        audit.record("test.last", user, actor=user)
        db.session.commit()
    inserts = [s for s in seen if s.startswith("INSERT INTO audit_log")]
    assert len(inserts) == 1, seen
    assert _actions()[-4:] == ["test.first", "test.many", "test.many", "test.last"]


def test_a_read_in_the_transaction_sees_its_own_rows(app, ctx):
    user = factories.firm_user()
    db.session.commit()
    audit.record("test.seen", user, actor=user)
    found = audit.list_for_subject("users", user.id)
    assert [e.action for e in found][-1] == "test.seen"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "test.seen")) == 1
    db.session.commit()
    assert _actions().count("test.seen") == 1       # written once, not again at commit


def test_a_savepoint_rolled_back_drops_its_rows_and_a_rollback_drops_all(app, ctx):
    user = factories.firm_user()
    db.session.commit()
    audit.record("test.outer", user)
    with db.session.begin_nested():
        audit.record("test.kept", user)
    savepoint = db.session.begin_nested()
    audit.record("test.undone", user)
    savepoint.rollback()
    db.session.commit()
    actions = _actions()
    assert "test.outer" in actions and "test.kept" in actions
    assert "test.undone" not in actions
    audit.record("test.rolled_back", user)
    db.session.rollback()
    db.session.commit()
    assert "test.rolled_back" not in _actions()


_FLAG = "test_record_before_commit"


def _step(session):
    subject = session.info.pop(_FLAG, None)
    if subject is not None:
        audit.record("test.in_a_step", subject)


before_commit(_step)        # a stage's step, registered before audit's own


def test_rows_recorded_by_a_step_before_commit_are_written_too(app, ctx):
    user = factories.firm_user()
    db.session.commit()
    db.session.info[_FLAG] = user
    db.session.commit()
    assert "test.in_a_step" in _actions()
