"""What waits for whom: the dashboards' counts and the lists they link to, one definition each.

A firm: counteroffers to answer, applicants to choose from (find's assignment
list filters by them through `find.attention`). A technician: offers waiting
for an answer, applications pending, upcoming jobs (`/offers?show=`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..core import clock
from ..errors import ValidationFailed
from ..extensions import db
from ..find.attention import Attention
from ..find.models import Assignment, AssignmentStatus
from .models import Counteroffer, CounterStatus, Offer, OfferStatus


def _pending_counter(by: str) -> ColumnElement[bool]:
    return select(Counteroffer.id).where(
        Counteroffer.offer_id == Offer.id, Counteroffer.status == CounterStatus.PENDING,
        Counteroffer.proposed_by == by).exists()


def _firm_offers(firm_id: int):
    return select(Offer.assignment_id).join(Assignment, Assignment.id == Offer.assignment_id) \
        .where(Assignment.firm_id == firm_id)


COUNTEROFFERS = Attention(
    "counteroffers", "counteroffer to answer", "counteroffers to answer",
    lambda firm_id: _firm_offers(firm_id).where(Offer.status == OfferStatus.COUNTERED,
                                                _pending_counter("technician")))
APPLICANTS = Attention(
    "applicants", "applicant to choose from", "applicants to choose from",
    lambda firm_id: _firm_offers(firm_id).where(Offer.status == OfferStatus.APPLIED))


def counts_for_firm(user: User) -> dict:
    firm_id = user.membership.firm_id
    return {"counteroffers": COUNTEROFFERS.count(firm_id),
            "applicants": APPLICANTS.count(firm_id),
            "routing": db.session.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.firm_id == firm_id,
                Assignment.status == AssignmentStatus.PUBLISHED)) or 0}


# -- the technician -------------------------------------------------------------------

@dataclass(frozen=True)
class TechnicianList:
    key: str
    heading: str

    def condition(self, technician_id: int) -> ColumnElement[bool]:
        if self.key == "waiting":     # theirs to answer: an open offer, or the firm's terms
            return or_(and_(Offer.status == OfferStatus.OPEN, Offer.expires_at > clock.now()),
                       and_(Offer.status == OfferStatus.COUNTERED, _pending_counter("firm")))
        if self.key == "applied":
            return Offer.status == OfferStatus.APPLIED
        return and_(Offer.status == OfferStatus.ACCEPTED, Offer.assignment_id.in_(
            select(Assignment.id).where(Assignment.assignee_id == technician_id,
                                        Assignment.status == AssignmentStatus.ASSIGNED)))


TECHNICIAN_LISTS = {t.key: t for t in (
    TechnicianList("waiting", "Offers waiting for your answer"),
    TechnicianList("applied", "Applications pending"),
    TechnicianList("upcoming", "Upcoming jobs"))}


def technician_list(key: str | None) -> TechnicianList | None:
    if not key:
        return None
    if key not in TECHNICIAN_LISTS:
        raise ValidationFailed.field("show", "Unknown list.")
    return TECHNICIAN_LISTS[key]


def technician_offers(user: User, show: TechnicianList | None = None, limit: int = 100
                      ) -> list[Offer]:
    tech_id = user.technician.id
    stmt = select(Offer).where(Offer.technician_id == tech_id) \
        .options(joinedload(Offer.assignment).joinedload(Assignment.firm))
    if show is not None:
        stmt = stmt.where(show.condition(tech_id))
    return list(db.session.scalars(stmt.order_by(Offer.created_at.desc(), Offer.id.desc())
                                   .limit(limit)))


def counts_for_technician(user: User) -> dict:
    tech_id = user.technician.id
    return {key: db.session.scalar(select(func.count()).select_from(Offer).where(
        Offer.technician_id == tech_id, item.condition(tech_id))) or 0
        for key, item in TECHNICIAN_LISTS.items()}
