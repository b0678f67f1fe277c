"""Permission-checked loaders for engage objects (404 for anything not yours)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import User
from ..accounts.policy import is_member
from ..errors import NotFound
from ..extensions import db
from ..find.access import access_assignment
from ..find.models import Assignment
from .models import LIVE_OFFER_STATES, Counteroffer, Offer, OfferStatus

# The firm's own assignment: find's loader is the one rule.
firm_assignment = access_assignment


def technician_assignment(user: User, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or user.technician is None or \
            assignment.assignee_id != user.technician.id:
        raise NotFound()
    return assignment


def technician_has_offer(technician_id: int, assignment_id: int) -> bool:
    """Offered, applied, countering or accepted: the technician is engaged with the work."""
    return db.session.scalar(select(Offer.id).where(
        Offer.assignment_id == assignment_id, Offer.technician_id == technician_id,
        Offer.status.in_((*LIVE_OFFER_STATES, OfferStatus.ACCEPTED))).limit(1)) is not None


def access_offer(user: User, offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id, options=(
        joinedload(Offer.assignment).joinedload(Assignment.firm),
        selectinload(Offer.counteroffers)))
    if offer is None:
        raise NotFound()
    if user.technician is not None and offer.technician_id == user.technician.id:
        return offer
    if is_member(user, offer.assignment.firm_id):
        return offer
    raise NotFound()


def access_counteroffer(user: User, counteroffer_id: int) -> Counteroffer:
    counter = db.session.get(Counteroffer, counteroffer_id)
    if counter is None:
        raise NotFound()
    access_offer(user, counter.offer_id)
    return counter


def marketplace_assignment(user: User, assignment_id: int) -> Assignment:
    """A published assignment opened to the marketplace (what any technician may see)."""
    from ..find.models import AssignmentStatus
    from .models import Engagement
    assignment = db.session.get(Assignment, assignment_id)
    engagement = db.session.get(Engagement, assignment_id) if assignment else None
    if assignment is None or engagement is None or not engagement.open_to_marketplace \
            or assignment.status != AssignmentStatus.PUBLISHED or user.technician is None:
        raise NotFound()
    return assignment
