"""Dashboard panels: the firm's open work, and the technician's nearest jobs."""
from __future__ import annotations

from sqlalchemy import func, select

from ..core import clock
from ..extensions import db
from . import feed_cards
from .matching import feed_for
from .models import Assignment, AssignmentStatus

# Work a firm still has to see through, soonest first on its dashboard.
_ACTIVE = (AssignmentStatus.DRAFT, AssignmentStatus.PUBLISHED, AssignmentStatus.ASSIGNED,
           AssignmentStatus.IN_PROGRESS, AssignmentStatus.SUBMITTED)


def firm_assignments(user, limit: int = 5) -> dict:
    firm_id = user.membership.firm_id
    counts = dict(db.session.execute(select(Assignment.status, func.count()).where(
        Assignment.firm_id == firm_id).group_by(Assignment.status)).all())
    upcoming = db.session.scalars(select(Assignment).where(
        Assignment.firm_id == firm_id, Assignment.status.in_(_ACTIVE),
        Assignment.ends_at > clock.now())
        .order_by(Assignment.starts_at, Assignment.id).limit(limit)).all()
    return {"counts": [(s, counts[s]) for s in AssignmentStatus if counts.get(s)],
            "upcoming": upcoming}


def technician_feed(user, limit: int = 3) -> dict:
    """The first jobs of the technician's feed (/feed), with what each card offers."""
    tech = user.technician
    items = feed_for(tech, limit=limit) if tech else []
    return {"feed_items": items, "actions": feed_cards.actions_for(tech, items)}
