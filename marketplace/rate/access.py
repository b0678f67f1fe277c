"""Permission-checked loaders of rate's objects: another party's is a 404."""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.policy import is_member
from ..errors import NotFound
from ..extensions import db
from .models import Dispute, RateEvent, Rating, RatingReport


def access_rating(user: User, rating_id: int) -> Rating:
    """A rating of the viewer's own work (either side), or any for an admin."""
    rating = db.session.get(Rating, rating_id)
    if rating is None:
        raise NotFound()
    if getattr(user, "is_admin", False) or is_member(user, rating.firm_id):
        return rating
    tech = getattr(user, "technician", None)
    if tech is not None and tech.id == rating.technician_id:
        return rating
    raise NotFound()


def access_own_event(user: User, event_id: int) -> RateEvent:
    event = db.session.get(RateEvent, event_id)
    tech = getattr(user, "technician", None)
    if event is None or tech is None or event.technician_id != tech.id:
        raise NotFound()
    return event


def _admin_only(user: User, item):
    if item is None or not getattr(user, "is_admin", False):
        raise NotFound()
    return item


def access_report(user: User, report_id: int) -> RatingReport:
    return _admin_only(user, db.session.get(RatingReport, report_id))


def access_dispute(user: User, dispute_id: int) -> Dispute:
    return _admin_only(user, db.session.get(Dispute, dispute_id))
