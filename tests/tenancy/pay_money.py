"""Firm A's money: technician A's approved work with its invoice, payment statement and
payout (transferred). Firm B and technician B must see none of it."""
from datetime import timedelta

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.pay import approval, statements, transfers


def build(world: dict) -> None:
    owner, tech = world["owner_a"], world["tech_a"].technician
    start = clock.now() - timedelta(days=2)
    job = Assignment(firm_id=world["firm_a"].id, created_by_id=owner.id,
                     title="Paid work " + world["marker"], address="Dallas, TX", lat=tech.lat,
                     lon=tech.lon, timezone="America/Chicago", starts_at=start,
                     ends_at=start + timedelta(hours=2), budget_cents=30000, rate_cents=30000,
                     status=AssignmentStatus.APPROVED, assignee_id=tech.id)
    db.session.add(job)
    db.session.flush()
    payable = approval.record_approval(job, {"labour_cents": 30000, "expenses_cents": 0,
                                             "total_cents": 30000, "currency": "USD"})
    invoice, statement = statements.issue_for(payable)
    intent = transfers.write_intent(payable, "acct_walker_a")
    transfers.record_transfer(intent.id, "tr_walker_a")
    db.session.commit()
    world.update(invoice_a=invoice, statement_a=statement, payout_a=intent)


PARAMS = {
    "document_id": lambda w: w["statement_a"].id,
    "statement_id": lambda w: w["statement_a"].id,
    "invoice_id": lambda w: w["invoice_a"].id,
    "payout_id": lambda w: w["payout_a"].id,
    "intent_id": lambda w: w["payout_a"].id,
}
