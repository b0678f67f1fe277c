"""Concurrency on PostgreSQL: real threads, each with its own connection."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.pool import NullPool

from marketplace.core import clock
from marketplace import create_app
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.errors import InvalidState
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus as S
from marketplace.accounts.models import TechnicianProfile
from tests import factories
from tests.find.helpers import DALLAS, START, make_assignment, tech_at


def _threaded_app(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the race is run on PostgreSQL")
    with app.app_context():
        db.engine.dispose()  # leave every connection slot to the racers
        # Idle pooled connections of other apps in this test process hold slots too
        # (PostgreSQL allows 100); end them, pool_pre_ping replaces them later.
        with db.engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle'"))
        db.engine.dispose()
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                  "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})


def _race(racer_app, jobs):
    """Run each (technician_id, offer_id) accept in its own thread, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    lock = threading.Lock()

    def run(tech_id, offer_id):
        with racer_app.app_context():
            try:
                db.session.execute(text("SELECT 1"))  # hold a connection before the start
                offer = db.session.get(Offer, offer_id)
                user = db.session.get(TechnicianProfile, tech_id).user
            except Exception as exc:
                with lock:
                    results.append(f"setup error: {exc.__class__.__name__}: {str(exc)[:100]}")
                barrier.wait(timeout=60)
                return
            barrier.wait(timeout=60)
            try:
                offers.accept_offer(user, offer)
                db.session.commit()
                outcome = "won"
            except InvalidState as exc:
                db.session.rollback()
                outcome = exc.code
            except Exception as exc:  # report, so the assertion shows what went wrong
                db.session.rollback()
                outcome = f"error: {exc.__class__.__name__}: {str(exc)[:120]}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_hundred_simultaneous_accepts_yield_exactly_one_assignee(app, ctx):
    clock.travel_to(START - timedelta(days=2))
    owner = factories.firm_user()
    techs = [tech_at(DALLAS[0] + i * 0.001, DALLAS[1]) for i in range(100)]
    job = make_assignment(owner)
    job_id = job.id
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                             stages=[routing.StagePlan(TargetKind.TECHNICIANS,
                                                       technician_ids=[t.id for t in techs])])
    db.session.commit()
    jobs = [(o.technician_id, o.id) for o in db.session.scalars(select(Offer))]
    assert len(jobs) == 100
    db.session.remove()
    results = _race(_threaded_app(app), jobs)
    assert sorted(set(results)) == ["already_taken", "won"]
    assert results.count("won") == 1 and results.count("already_taken") == 99, \
        sorted(set(results))
    assignment = db.session.get(Assignment, job_id)
    assert assignment.status == S.ASSIGNED and assignment.assignee_id is not None


def test_one_technician_accepting_two_overlapping_jobs_at_once_gets_one(app, ctx):
    clock.travel_to(START - timedelta(days=2))
    owner = factories.firm_user()
    tech = tech_at(*DALLAS)
    jobs = [make_assignment(owner, starts_at=START + timedelta(minutes=30 * i)) for i in range(2)]
    for job in jobs:
        routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                                 stages=[routing.StagePlan(TargetKind.TECHNICIANS,
                                                           technician_ids=[tech.id])])
    db.session.commit()
    pairs = [(tech.id, o.id) for o in db.session.scalars(select(Offer))]
    db.session.remove()
    results = _race(_threaded_app(app), pairs)
    assert sorted(results) == ["double_booked", "won"]
