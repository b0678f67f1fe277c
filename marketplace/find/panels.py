"""Dashboard panels: the firm's open work, and the technician's nearest jobs."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from .matching import feed_for
from .models import Assignment


def firm_assignments(user) -> dict:
    counts = dict(db.session.execute(select(Assignment.status, func.count()).where(
        Assignment.firm_id == user.membership.firm_id).group_by(Assignment.status)).all())
    return {"assignment_counts": {str(k): v for k, v in counts.items()}}


def technician_feed(user) -> dict:
    return {"feed_items": feed_for(user.technician, limit=3) if user.technician else []}
