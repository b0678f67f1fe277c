"""Firm A's approved work with technician A, both ratings (comments and private feedback
carrying the marker), a report of the firm's comment, the technician's events and a
dispute, the firm's note, favourite and block."""
from datetime import timedelta

from sqlalchemy import select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.rate import lists, moderation, ratings
from marketplace.rate.models import RateEvent
from tests.rate.history import outcome


def build(world: dict) -> None:
    owner, tech_user = world["owner_a"], world["tech_a"]
    tech, marker = tech_user.technician, world["marker"]
    job = outcome(owner, tech, clock.now() - timedelta(days=1), "late")
    rating = ratings.rate(owner, job, {"overall": 2, "comment": "Secret comment " + marker,
                                       "private_feedback": "Secret feedback " + marker})
    ratings.rate(tech_user, job, {"overall": 4, "comment": "Secret reply " + marker})
    report = moderation.report(tech_user, rating, "Secret reason " + marker)
    late = db.session.scalar(select(RateEvent).where(RateEvent.assignment_id == job.id,
                                                     RateEvent.kind == "late"))
    dispute = moderation.dispute(tech_user, late, "Secret dispute " + marker)
    lists.save_note(owner, tech, "Secret note " + marker)
    lists.add_favourite(owner, tech)
    db.session.commit()
    world.update(rated_work_a=job, rating_a=rating, report_a=report, event_a=late,
                 dispute_a=dispute)


PARAMS = {
    "rating_id": lambda w: w["rating_a"].id,
    "report_id": lambda w: w["report_a"].id,
    "event_id": lambda w: w["event_a"].id,
    "dispute_id": lambda w: w["dispute_a"].id,
}
