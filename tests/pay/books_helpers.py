"""Builders for the books tests: funded firms, routed and submitted work."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.core import clock
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from marketplace.manage import review, visits
from marketplace.manage.geofence import Fix
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind
from tests import factories
from tests.find.helpers import DALLAS, START, make_assignment, tech_at
from tests.manage.helpers import at_site


def fund(firm_id: int, cents: int, key: str | None = None) -> None:
    """A top-up that has cleared: the platform's clearing account to the firm's funds."""
    ledger.move(key or f"test-topup:{firm_id}:{cents}:{clock.now().timestamp()}",
                memo="Top-up", ref=f"firm:{firm_id}",
                source=ledger.account(Kind.PLATFORM_CLEARING, None),
                target=ledger.account(Kind.FIRM_AVAILABLE, firm_id), amount_cents=cents)
    db.session.commit()


def draft_work(owner=None, *, budget=20000, starts_at=START, **kw):
    owner = owner or factories.firm_user()
    job = make_assignment(owner, status=AssignmentStatus.DRAFT, starts_at=starts_at,
                          checklist=[], **kw)
    job.budget_cents = job.rate_cents = budget
    db.session.commit()
    return owner, job


def route(owner, job, tech, *, fee=0):
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT,
                             cancellation_fee_cents=fee,
                             stages=[StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    db.session.commit()


def taken(*, funds=30000, budget=20000, fee=0):
    """A funded firm's routed assignment (3 days ahead) the technician accepted."""
    clock.travel_to(START - timedelta(days=3))
    owner, job = draft_work(budget=budget)
    tech = tech_at(*DALLAS)
    if funds:
        fund(owner.firm.id, funds)
    route(owner, job, tech, fee=fee)
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    offers.accept_offer(tech.user, offer)
    db.session.commit()
    return owner, tech, job


def submitted(tech, job, minutes=120):
    clock.travel_to(job.starts_at, freeze=True)
    fix = lambda: Fix.parse(at_site(job), default_time=clock.now())  # noqa: E731
    visits.check_in(tech.user, job, at=clock.now(), fix=fix())
    clock.advance(timedelta(minutes=minutes))
    visits.check_out(tech.user, job, at=clock.now(), fix=fix())
    review.submit(tech.user, job, "done")
    db.session.commit()


def bal(kind: Kind, owner_id: int | None) -> int:
    return ledger.balance_of(kind, owner_id)
