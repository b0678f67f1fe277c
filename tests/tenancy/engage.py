"""Firm A's routed assignment with technician A's offer and counteroffer."""
from datetime import timedelta

from marketplace.core import clock
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus


def build(world: dict) -> None:
    owner, tech = world["owner_a"], world["tech_a"].technician
    start = clock.now() + timedelta(days=5)
    job = Assignment(firm_id=world["firm_a"].id, created_by_id=owner.id,
                     title="Secret job " + world["marker"], address="Dallas, TX", lat=tech.lat,
                     lon=tech.lon, timezone="America/Chicago", starts_at=start,
                     ends_at=start + timedelta(hours=2), budget_cents=30000,
                     status=AssignmentStatus.DRAFT)
    db.session.add(job)
    db.session.flush()
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    offer = db.session.query(Offer).filter_by(assignment_id=job.id).one()
    counter = offers.propose_counteroffer(world["tech_a"], offer, price_cents=31000,
                                          note="Secret note " + world["marker"])
    db.session.commit()
    world.update(engage_assignment=job, offer_a=offer, counteroffer_a=counter)


PARAMS = {
    "assignment_id": lambda w: w["engage_assignment"].id,
    "offer_id": lambda w: w["offer_a"].id,
    "counteroffer_id": lambda w: w["counteroffer_a"].id,
}
SECRET_PARAMS = {"decision": "accept", "action": "accept"}
