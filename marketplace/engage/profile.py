"""Engage's section of the technician profile: the offers the firm made the technician
(admins: every firm's) with a count per outcome, and their backouts."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..find.models import Assignment
from .models import Backout, Offer, OfferStatus

SHOWN = 10


def history_section(subject) -> dict | None:
    if subject.firm_id is None and not subject.viewer.is_admin:
        return None
    tech_id = subject.technician.id
    mine = [Assignment.firm_id == subject.firm_id] if subject.firm_id is not None else []
    counts = dict(db.session.execute(
        select(Offer.status, func.count()).join(Assignment, Assignment.id == Offer.assignment_id)
        .where(Offer.technician_id == tech_id, *mine).group_by(Offer.status)).all())
    offers = list(db.session.scalars(
        select(Offer).join(Offer.assignment).where(Offer.technician_id == tech_id, *mine)
        .options(contains_eager(Offer.assignment).joinedload(Assignment.firm))
        .order_by(Offer.created_at.desc(), Offer.id.desc()).limit(SHOWN))) if counts else []
    backout_counts = dict(db.session.execute(
        select(Backout.offboarded, func.count())
        .join(Assignment, Assignment.id == Backout.assignment_id)
        .where(Backout.technician_id == tech_id, *mine).group_by(Backout.offboarded))
        .all())
    backouts = db.session.execute(
        select(Backout, Assignment).join(Assignment, Assignment.id == Backout.assignment_id)
        .where(Backout.technician_id == tech_id, *mine)
        .options(joinedload(Assignment.firm))
        .order_by(Backout.created_at.desc(), Backout.id.desc()).limit(SHOWN)).all() \
        if backout_counts else []
    return {"offers": offers, "offer_total": sum(counts.values()),
            "by_status": [(s, counts[s]) for s in OfferStatus if counts.get(s)],
            "backouts": backouts, "backout_total": sum(backout_counts.values()),
            "backed_out": backout_counts.get(False, 0),
            "offboarded": backout_counts.get(True, 0),
            "show_firm": subject.firm_id is None}
