"""Concurrency on PostgreSQL (real threads, a connection each): money moves once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.find.models import Assignment
from marketplace.manage import review
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind
from marketplace.pay.payables import Payable
from tests.pay.books_helpers import bal, draft_work, fund, submitted, taken


def _racers(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the race is run on PostgreSQL")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                  "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})


def _race(racer_app, n: int, action) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def run(i):
        with racer_app.app_context():
            db.session.execute(text("SELECT 1"))
            barrier.wait(timeout=60)
            try:
                action(i)
                db.session.commit()
                outcome = "ok"
            except DomainError as exc:
                db.session.rollback()
                outcome = f"refused: {exc.message}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return results


def test_two_concurrent_approvals_of_the_same_work_pay_once(app, ctx):
    owner, tech, job = taken(funds=30000, budget=20000)
    submitted(tech, job)
    owner_id, job_id = owner.id, job.id
    racers = _racers(app)

    def approve(_i):
        review.approve(db.session.get(User, owner_id), db.session.get(Assignment, job_id))

    results = _race(racers, 2, approve)
    assert sorted(r[:7] for r in results) == ["ok", "refused"], results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payable)) == 1
    assert bal(Kind.TECH_PAYABLE, tech.id) == 18000
    assert bal(Kind.PLATFORM_FEES, None) == 2000
    assert ledger.verify() == []


def test_concurrent_posts_under_one_key_record_one_transaction(app, ctx):
    owner, _job = draft_work()
    fund(owner.firm.id, 10000)
    firm = owner.firm.id
    racers = _racers(app)

    def post(_i):
        ledger.move("same-cause", memo="x", ref="x",
                    source=ledger.account(Kind.FIRM_AVAILABLE, firm),
                    target=ledger.account(Kind.FIRM_RESERVED, firm), amount_cents=700)

    assert _race(racers, 4, post) == ["ok"] * 4
    db.session.expire_all()
    assert bal(Kind.FIRM_RESERVED, firm) == 700
    assert ledger.verify() == []


def test_concurrent_reserves_never_spend_the_same_funds(app, ctx):
    from marketplace.core import clock
    from marketplace.find.lifecycle import AssignmentStatus as S
    from marketplace.find.lifecycle import transition
    from marketplace.core.actions import Action
    app.config["PAY_FUNDS_REQUIRED"] = True
    try:
        owner, first = draft_work(budget=6000)
        _, second = draft_work(owner, budget=6000)
        fund(owner.firm.id, 10000)
        ids = [first.id, second.id]
        racers = _racers(app)
        racers.config["PAY_FUNDS_REQUIRED"] = True

        def publish(i):
            job = db.session.get(Assignment, ids[i])
            transition(job, S.PUBLISHED, actor=None, action=Action.ASSIGNMENT_PUBLISHED,
                       published_at=clock.now())

        results = _race(racers, 2, publish)
    finally:
        app.config["PAY_FUNDS_REQUIRED"] = False
    assert sorted(r[:7] for r in results) == ["ok", "refused"], results
    assert "You need $20.00 more" in [r for r in results if r != "ok"][0]
    db.session.expire_all()
    assert (bal(Kind.FIRM_AVAILABLE, owner.firm.id), bal(Kind.FIRM_RESERVED, owner.firm.id)) \
        == (4000, 6000)
