"""What a transaction keeps for its own later steps lasts until it ends, not longer."""
from __future__ import annotations

from sqlalchemy import text

from marketplace.core.transactions import per_transaction
from marketplace.extensions import db

KEY = "test_per_transaction_memo"
per_transaction(KEY)


def test_a_per_transaction_key_outlives_a_savepoint_and_ends_with_the_transaction(app, ctx):
    for end in (db.session.commit, db.session.rollback):
        db.session.execute(text("SELECT 1"))
        db.session.info[KEY] = {"held": 1}
        with db.session.begin_nested():
            db.session.execute(text("SELECT 1"))
        assert db.session.info[KEY] == {"held": 1}     # a savepoint's end is not the end
        end()
        assert KEY not in db.session.info
    db.session.info["not_declared"] = 1
    db.session.commit()
    assert db.session.info.pop("not_declared") == 1    # undeclared keys are left alone


def test_a_savepoint_neither_announces_nor_undoes_what_the_transaction_around_it_did(
        app, ctx):
    from marketplace.core.transactions import on_commit, on_rollback
    seen: list[str] = []
    db.session.execute(text("SELECT 1"))
    on_commit(lambda: seen.append("outer committed"))
    on_rollback(lambda: seen.append("outer undone"))
    with db.session.begin_nested():                 # released: not a commit
        on_commit(lambda: seen.append("kept savepoint committed"))
        on_rollback(lambda: seen.append("kept savepoint undone"))
    assert seen == []
    savepoint = db.session.begin_nested()
    on_commit(lambda: seen.append("failed savepoint committed"))
    on_rollback(lambda: seen.append("failed savepoint undone"))
    savepoint.rollback()                            # undoes only its own
    assert seen == ["failed savepoint undone"]
    db.session.commit()
    assert seen == ["failed savepoint undone", "outer committed", "kept savepoint committed"]

    seen.clear()
    db.session.execute(text("SELECT 1"))
    on_commit(lambda: seen.append("committed"))
    on_rollback(lambda: seen.append("undone"))
    with db.session.begin_nested():
        on_rollback(lambda: seen.append("inner undone"))
    db.session.rollback()
    assert sorted(seen) == ["inner undone", "undone"]
