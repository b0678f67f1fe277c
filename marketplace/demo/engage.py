"""Demo engagement: routed assignments with offers, applicants, counteroffers, a backout."""
from __future__ import annotations

import random

from sqlalchemy import select

from ..accounts.models import Role
from ..engage.models import (
    Counteroffer,
    Engagement,
    Offer,
    OfferSource,
    OfferStatus,
    RoutingMode,
    TargetKind,
)
from ..engage.routing import StagePlan, route_assignment
from ..extensions import db
from ..find.models import AssignmentStatus


def seed(rng: random.Random, world: dict) -> dict:
    routed = 0
    for assignment in world.get("assignments", []):
        firm = assignment.firm
        if not firm.is_verified:
            continue
        owner = next(m.user for m in firm.memberships if m.role == Role.OWNER)
        if assignment.status == AssignmentStatus.PUBLISHED:
            mode = rng.choice([RoutingMode.FIRST_TO_ACCEPT, RoutingMode.APPLY_AND_CHOOSE])
            route_assignment(owner, assignment, mode=mode, cancellation_fee_cents=5000, stages=[
                StagePlan(TargetKind.TOP_MATCHES, top_k=8),
                StagePlan(TargetKind.MARKETPLACE, after_minutes=120)])
            routed += 1
            offers = list(db.session.scalars(select(Offer).where(Offer.assignment_id == assignment.id)))
            if offers and mode == RoutingMode.APPLY_AND_CHOOSE:
                offers[0].status = OfferStatus.APPLIED
            if len(offers) > 1 and rng.random() < 0.5:
                offers[1].status = OfferStatus.COUNTERED
                db.session.add(Counteroffer(offer_id=offers[1].id, proposed_by="technician",
                                            price_cents=assignment.budget_cents,
                                            expenses_cents=2500, currency=assignment.currency,
                                            note="Includes a lift rental."))
        elif assignment.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS) \
                and assignment.assignee_id:
            db.session.add(Engagement(assignment_id=assignment.id,
                                      mode=RoutingMode.FIRST_TO_ACCEPT, cancellation_fee_cents=5000))
            db.session.add(Offer(assignment_id=assignment.id, technician_id=assignment.assignee_id,
                                 status=OfferStatus.ACCEPTED, source=OfferSource.ROUTED,
                                 price_cents=assignment.budget_cents, expenses_cents=0,
                                 currency=assignment.currency, expires_at=assignment.starts_at))
            assignment.agreed_price_cents = assignment.budget_cents
            assignment.agreed_expenses_cents = 0
    db.session.flush()
    return {"routed_assignments": routed}
