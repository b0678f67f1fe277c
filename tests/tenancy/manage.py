"""Firm A's work in progress: technician A checked in, answered, added proof, asked for an
expense; the firm wrote to them with a file."""
import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.uploads import Upload
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.manage import changes, messages, proof, visits


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 0)).save(out, "PNG")
    return out.getvalue()


def build(world: dict) -> None:
    owner, tech_user = world["owner_a"], world["tech_a"]
    tech = tech_user.technician
    start = clock.now() + timedelta(hours=1)
    job = Assignment(firm_id=world["firm_a"].id, created_by_id=owner.id,
                     title="Work " + world["marker"], address="Dallas, TX", lat=tech.lat,
                     lon=tech.lon, timezone="America/Chicago", starts_at=start,
                     ends_at=start + timedelta(hours=2), budget_cents=30000, rate_cents=30000,
                     status=AssignmentStatus.DRAFT,
                     checklist=[{"key": "t1", "kind": "text", "label": "Notes", "required": True},
                                {"key": "t2", "kind": "photo", "label": "Photo",
                                 "required": True, "min_count": 1}])
    db.session.add(job)
    db.session.flush()
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    offers.accept_offer(tech_user, db.session.scalar(select(Offer).where(
        Offer.assignment_id == job.id)))
    visits.check_in(tech_user, job, at=clock.now(), fix=None, reason="Secret " + world["marker"])
    proof.answer_task(tech_user, job, "t1", {"text": "Secret answer " + world["marker"]},
                      at=clock.now())
    item = proof.add_proof(tech_user, job, "t2", Upload("secret.png", _png()), at=clock.now())
    change = changes.request_change(tech_user, job, kind="expense", amount=1200,
                                    category="parts", reason="Secret part " + world["marker"])
    thread = messages.access_thread(owner, job.id, tech.id)
    message = messages.post(owner, thread, "Secret message " + world["marker"],
                            Upload("secret-plan.png", _png()))
    db.session.commit()
    world.update(work_a=job, proof_a=item, change_a=change, message_a=message)


PARAMS = {
    "work_id": lambda w: w["work_a"].id,
    "proof_id": lambda w: w["proof_a"].id,
    "change_id": lambda w: w["change_a"].id,
    "message_id": lambda w: w["message_a"].id,
    "technician_id": lambda w: w["tech_a"].technician.id,
}
SECRET_PARAMS = {"which": "in", "key": "t1", "kpi_key": "on_time"}

