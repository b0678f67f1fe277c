"""Coverage that shrinks is re-checked everywhere, by the sweep's own rules: a renewal
approved with lower coverage, and a lapse found by the sweep, take the technician out of
gated pools, future assigned work, live offers, applications and pending counteroffers
on work that needs the credential, and leave everything else alone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.audit import AuditEntry
from marketplace.engage import offers, routing
from marketplace.engage.models import (
    Counteroffer,
    CounterStatus,
    Offer,
    OfferStatus,
    RoutingMode,
    TargetKind,
)
from marketplace.extensions import db
from marketplace.find.models import (
    Assignment,
    AssignmentStatus,
    PoolMember,
    PoolMemberStatus,
    TalentPool,
)
from marketplace.notifications.models import Notification
from marketplace.verify import submissions
from marketplace.verify.expiry import run_sweep
from marketplace.verify.models import Credential, CredentialKind, CredentialType, RequirementItem
from tests import factories
from tests.find.helpers import DALLAS, START, give_credential, make_assignment, requirement_set, tech_at

NOW = START - timedelta(days=3)
MILLION = 100_000_000  # $1,000,000 in cents


@dataclass
class Gated:
    """A technician in a pool and on work that all require the firm's insurance."""
    owner: object
    tech: object
    ctype: CredentialType
    member: PoolMember
    assigned: Assignment       # future work they hold
    offered: Offer             # an open offer (first to accept)
    applied: Offer             # their application (apply and choose)
    countered: Counteroffer    # their pending counteroffer
    ungated: Offer             # an open offer on work that asks for nothing


def _routed(owner, tech, n: int, mode=RoutingMode.FIRST_TO_ACCEPT, **kw) -> Offer:
    job = make_assignment(owner, title=f"Job {n}", starts_at=START + timedelta(days=n), **kw)
    routing.route_assignment(owner, job, mode=mode, offer_ttl_hours=24 * 7, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    return db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))


def build(min_cover: int | None, coverage: int, expires_on: date) -> Gated:
    clock.travel_to(NOW)
    owner = factories.firm_user()
    rset, ctype = requirement_set(None, name="Liability")
    ctype.requires_document = False
    db.session.scalar(select(RequirementItem).where(
        RequirementItem.requirement_set_id == rset.id)).min_coverage_cents = min_cover
    tech = tech_at(*DALLAS)
    cred = give_credential(tech, ctype, expires_on=expires_on)
    cred.coverage_cents = coverage
    # Another credential, so a lapse does not suspend them (suspension is not the point).
    other = CredentialType(name="Driver licence", kind=CredentialKind.LICENCE, expires=False)
    db.session.add(other)
    db.session.flush()
    give_credential(tech, other, expires_on=None)
    pool = TalentPool(firm_id=owner.firm.id, name="Insured", requirement_set_id=rset.id)
    db.session.add(pool)
    db.session.flush()
    member = PoolMember(pool_id=pool.id, technician_id=tech.id, status=PoolMemberStatus.ACTIVE)
    db.session.add(member)
    assigned = make_assignment(owner, title="Held", starts_at=START, status=AssignmentStatus.ASSIGNED,
                               assignee_id=tech.id, requirement_set_id=rset.id)
    offered = _routed(owner, tech, 1, requirement_set_id=rset.id)
    applied = _routed(owner, tech, 2, RoutingMode.APPLY_AND_CHOOSE, requirement_set_id=rset.id)
    offers.apply_to_offer(tech.user, applied)
    countered_offer = _routed(owner, tech, 3, requirement_set_id=rset.id)
    countered = offers.propose_counteroffer(tech.user, countered_offer, price_cents=25000)
    ungated = _routed(owner, tech, 4)
    db.session.commit()
    assert {o.status for o in (offered, applied, countered_offer, ungated)} == {
        OfferStatus.OPEN, OfferStatus.APPLIED, OfferStatus.COUNTERED}
    return Gated(owner, tech, ctype, member, assigned, offered, applied, countered, ungated)


def _state(g: Gated) -> dict:
    db.session.expire_all()
    return {"pool": db.session.get(PoolMember, g.member.id).status,
            "held": (db.session.get(Assignment, g.assigned.id).status,
                     db.session.get(Assignment, g.assigned.id).assignee_id),
            "offered": db.session.get(Offer, g.offered.id).status,
            "applied": db.session.get(Offer, g.applied.id).status,
            "countered": (db.session.get(Offer, g.countered.offer_id).status,
                          db.session.get(Counteroffer, g.countered.id).status),
            "ungated": db.session.get(Offer, g.ungated.id).status}


def _renew(g: Gated, coverage: int) -> None:
    renewal = submissions.submit_credential(g.tech.user, credential_type_id=g.ctype.id,
                                            coverage_cents=coverage,
                                            expires_on=NOW.date() + timedelta(days=365))
    submissions.approve(factories.admin(), renewal)
    db.session.commit()


KEPT = {"pool": PoolMemberStatus.ACTIVE, "offered": OfferStatus.OPEN,
        "applied": OfferStatus.APPLIED,
        "countered": (OfferStatus.COUNTERED, CounterStatus.PENDING),
        "ungated": OfferStatus.OPEN}


def test_a_renewal_approved_with_lower_coverage_takes_the_technician_off_gated_work(app, ctx):
    g = build(min_cover=2 * MILLION, coverage=3 * MILLION, expires_on=date(2031, 1, 1))
    before = _state(g)
    assert before == KEPT | {"held": (AssignmentStatus.ASSIGNED, g.tech.id)}
    _renew(g, MILLION // 2)          # $3M -> $500k, below the $2M the work needs
    after = _state(g)
    assert after == {"pool": PoolMemberStatus.REMOVED,
                     "held": (AssignmentStatus.PUBLISHED, None),
                     "offered": OfferStatus.CLOSED, "applied": OfferStatus.CLOSED,
                     "countered": (OfferStatus.CLOSED, CounterStatus.WITHDRAWN),
                     "ungated": OfferStatus.OPEN}
    member = db.session.get(PoolMember, g.member.id)
    assert member.removed_reason == "lapsed"
    told = db.session.scalar(select(Notification.body).where(
        Notification.user_id == g.tech.user_id, Notification.kind == "credential.approved"))
    assert "covers $500,000.00, less than the $3,000,000.00 before" in told
    closed = db.session.scalars(select(AuditEntry.subject_id).where(
        AuditEntry.action == "offer.closed_not_compliant")).all()
    assert sorted(closed) == sorted([g.offered.id, g.applied.id, g.countered.offer_id])


def test_a_renewal_that_still_covers_the_requirement_changes_nothing(app, ctx):
    g = build(min_cover=2 * MILLION, coverage=3 * MILLION, expires_on=date(2031, 1, 1))
    _renew(g, 2 * MILLION)           # lower, but still the $2M the work needs
    assert _state(g) == KEPT | {"held": (AssignmentStatus.ASSIGNED, g.tech.id)}


def test_a_rejected_renewal_leaves_valid_cover_in_place(app, ctx):
    g = build(min_cover=2 * MILLION, coverage=3 * MILLION, expires_on=date(2031, 1, 1))
    renewal = submissions.submit_credential(g.tech.user, credential_type_id=g.ctype.id,
                                            coverage_cents=MILLION,
                                            expires_on=NOW.date() + timedelta(days=365))
    submissions.reject(factories.admin(), renewal, "Unreadable scan")
    db.session.commit()
    assert _state(g) == KEPT | {"held": (AssignmentStatus.ASSIGNED, g.tech.id)}


def test_the_sweep_closes_live_applications_and_counteroffers_on_work_needing_the_lapse(
        app, ctx):
    g = build(min_cover=None, coverage=MILLION, expires_on=date(2031, 1, 1))
    # The policy is cancelled early (its holder's correction): it ends today.
    held = db.session.scalar(select(Credential).where(
        Credential.technician_id == g.tech.id, Credential.credential_type_id == g.ctype.id))
    held.expires_on = NOW.date()
    db.session.commit()
    day = NOW.date() + timedelta(days=1)
    clock.travel_to(NOW + timedelta(days=1))
    result = run_sweep(day)
    db.session.commit()
    assert result.expired == 1 and result.suspended == 0
    assert _state(g) == {"pool": PoolMemberStatus.REMOVED,
                         "held": (AssignmentStatus.PUBLISHED, None),
                         "offered": OfferStatus.CLOSED, "applied": OfferStatus.CLOSED,
                         "countered": (OfferStatus.CLOSED, CounterStatus.WITHDRAWN),
                         "ungated": OfferStatus.OPEN}
    # The firm no longer sees a stale applicant; a second sweep changes nothing.
    assert run_sweep(day).changes == 0


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()
