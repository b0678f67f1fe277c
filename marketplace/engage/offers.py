"""Offers to technicians: accept, decline, apply, choose, counteroffer, expire."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..accounts.models import Role, TechnicianProfile, User
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..find.lifecycle import reschedule, transition
from ..find.models import Assignment, AssignmentStatus
from ..notifications.services import notify
from .eligibility import assert_can_take, lock_technician
from .models import (
    LIVE_OFFER_STATES,
    Counteroffer,
    CounterStatus,
    Engagement,
    Offer,
    OfferSource,
    OfferStatus,
    RoutingMode,
)


def engagement_of(assignment: Assignment) -> Engagement:
    engagement = db.session.get(Engagement, assignment.id)
    if engagement is None:
        raise InvalidState("This assignment has not been routed yet.")
    return engagement


def send_offers(assignment: Assignment, technician_ids: list[int], *,
                source: OfferSource = OfferSource.ROUTED, stage_id: int | None = None) -> list[Offer]:
    """Offer the assignment to technicians who have no live or declined offer for it."""
    engagement = engagement_of(assignment)
    existing = {o.technician_id: o for o in db.session.scalars(
        select(Offer).where(Offer.assignment_id == assignment.id,
                            Offer.technician_id.in_(technician_ids)))}
    expires = min(clock.now() + timedelta(hours=engagement.offer_ttl_hours), assignment.starts_at)
    sent = []
    for tid in technician_ids:
        offer = existing.get(tid)
        if offer is not None:
            if offer.status not in (OfferStatus.CLOSED, OfferStatus.EXPIRED):
                continue  # live, declined or accepted: leave it be
            offer.status, offer.expires_at, offer.source = OfferStatus.OPEN, expires, source
        else:
            offer = Offer(assignment_id=assignment.id, technician_id=tid, stage_id=stage_id,
                          source=source, price_cents=assignment.budget_cents, expires_at=expires)
            db.session.add(offer)
        sent.append(offer)
    db.session.flush()
    for offer in sent:
        tech = db.session.get(TechnicianProfile, offer.technician_id)
        notify(tech.user, "offer.received", f"New offer: {assignment.title}",
               f"{assignment.firm.name} offers you this assignment. Respond before it expires.",
               link=path_for("engage.offer", offer_id=offer.id))
    return sent


def _mine(user: User, offer: Offer) -> TechnicianProfile:
    tech = user.technician
    if tech is None or offer.technician_id != tech.id:
        raise PermissionDenied("This offer is not yours.")
    return tech


def _require_live(offer: Offer, *states: OfferStatus) -> None:
    if offer.status == OfferStatus.OPEN and offer.expires_at <= clock.now():
        offer.status = OfferStatus.EXPIRED
    allowed = states or LIVE_OFFER_STATES
    if offer.status not in allowed:
        raise InvalidState(f"This offer is {offer.status.label.lower()}.", code="offer_closed")


def _assign(offer: Offer, actor: User, *, price_cents: int, action: str) -> None:
    """The one place a technician becomes the assignee: race-free and double-booking-free."""
    assignment = offer.assignment
    tech = offer.technician
    lock_technician(tech.id)
    assert_can_take(tech, assignment)
    transition(assignment, AssignmentStatus.ASSIGNED, actor=actor, action=action,
               message="Sorry, this assignment was already taken.", code="already_taken",
               assignee_id=tech.id)
    offer.status, offer.price_cents, offer.responded_at = OfferStatus.ACCEPTED, price_cents, clock.now()
    db.session.execute(update(Offer).where(
        Offer.assignment_id == assignment.id, Offer.id != offer.id,
        Offer.status.in_(LIVE_OFFER_STATES)).values(status=OfferStatus.CLOSED)
        .execution_options(synchronize_session=False))
    for member in assignment.firm.memberships:
        notify(member.user, "assignment.assigned", f"{tech.name} has {assignment.title}",
               f"Agreed price {price_cents / 100:,.2f} {assignment.currency}.",
               link=path_for("engage.engagement", assignment_id=assignment.id), email=False)
    notify(tech.user, "assignment.assigned", f"You have the job: {assignment.title}",
           "It is on your schedule.", link=path_for("engage.offer", offer_id=offer.id))


def accept_offer(user: User, offer: Offer) -> None:
    """First-to-accept: take the assignment at the offered price."""
    _mine(user, offer)
    _require_live(offer, OfferStatus.OPEN)
    if engagement_of(offer.assignment).mode != RoutingMode.FIRST_TO_ACCEPT:
        raise InvalidState("This firm chooses among applicants: apply instead.")
    _assign(offer, user, price_cents=offer.price_cents, action=Action.ASSIGNMENT_ACCEPTED)


def decline_offer(user: User, offer: Offer, reason: str) -> None:
    _mine(user, offer)
    _require_live(offer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Tell the firm why (it helps them route better).")
    offer.status, offer.decline_reason, offer.responded_at = OfferStatus.DECLINED, reason[:300], clock.now()
    audit.record(Action.OFFER_DECLINED, offer, actor=user, firm_id=offer.assignment.firm_id,
                 after={"reason": offer.decline_reason})


def apply_to_offer(user: User, offer: Offer) -> None:
    _mine(user, offer)
    _require_live(offer, OfferStatus.OPEN)
    assert_can_take(offer.technician, offer.assignment)
    offer.status, offer.responded_at = OfferStatus.APPLIED, clock.now()
    audit.record(Action.OFFER_APPLIED, offer, actor=user, firm_id=offer.assignment.firm_id)


def _check_firm_actor(actor: User, assignment: Assignment, price_cents: int) -> None:
    membership = actor.membership
    if membership is None or membership.firm_id != assignment.firm_id:
        raise PermissionDenied("Only the firm can do that.")
    if membership.role == Role.DISPATCHER and membership.budget_limit_cents is not None \
            and price_cents > membership.budget_limit_cents:
        raise PermissionDenied("That is above your budget limit; ask a manager.")


def choose_applicant(actor: User, offer: Offer) -> None:
    _check_firm_actor(actor, offer.assignment, offer.price_cents)
    _require_live(offer, OfferStatus.APPLIED)
    _assign(offer, actor, price_cents=offer.price_cents, action=Action.ASSIGNMENT_CHOSEN)


def propose_counteroffer(actor: User, offer: Offer, *, price_cents: int, expenses_cents: int = 0,
                         starts_at: datetime | None = None, ends_at: datetime | None = None,
                         note: str = "") -> Counteroffer:
    """Either side proposes new terms; the other side decides."""
    side = "technician" if actor.technician is not None else "firm"
    if side == "technician":
        _mine(actor, offer)
    else:
        _check_firm_actor(actor, offer.assignment, price_cents + expenses_cents)
    _require_live(offer)
    if offer.pending_counteroffer is not None:
        raise InvalidState("A counteroffer is already waiting for an answer.")
    if price_cents <= 0 or expenses_cents < 0:
        raise ValidationFailed.field("price", "Enter a price above zero.")
    if (starts_at is None) != (ends_at is None) or (starts_at and ends_at <= starts_at):
        raise ValidationFailed.field("starts_at", "Give a start and an end after it.")
    counter = Counteroffer(offer_id=offer.id, proposed_by=side, price_cents=price_cents,
                           expenses_cents=expenses_cents, starts_at=starts_at, ends_at=ends_at,
                           note=(note or "").strip()[:1000])
    db.session.add(counter)
    offer.status = OfferStatus.COUNTERED
    db.session.flush()
    audit.record(Action.OFFER_COUNTERED, offer, actor=actor, firm_id=offer.assignment.firm_id,
                 after={"by": side, "price_cents": price_cents, "expenses_cents": expenses_cents})
    assignment = offer.assignment
    if side == "technician":
        for member in assignment.firm.memberships:
            notify(member.user, "counteroffer.received", f"Counteroffer on {assignment.title}",
                   f"{offer.technician.name} proposes {(price_cents + expenses_cents) / 100:,.2f}.",
                   link=path_for("engage.engagement", assignment_id=assignment.id), email=False)
    else:
        notify(offer.technician.user, "counteroffer.received",
               f"{assignment.firm.name} proposes new terms", link=path_for("engage.offer", offer_id=offer.id))
    return counter


def decide_counteroffer(actor: User, counter: Counteroffer, accept: bool) -> None:
    offer = counter.offer
    if counter.status != CounterStatus.PENDING:
        raise InvalidState(f"This counteroffer is already {counter.status.value}.")
    if counter.proposed_by == "technician":
        _check_firm_actor(actor, offer.assignment, counter.price_cents + counter.expenses_cents)
    else:
        _mine(actor, offer)
    counter.decided_at = clock.now()
    if not accept:
        counter.status = CounterStatus.REJECTED
        offer.status = OfferStatus.OPEN
        audit.record(Action.COUNTEROFFER_REJECTED, offer, actor=actor, firm_id=offer.assignment.firm_id)
        return
    counter.status = CounterStatus.ACCEPTED
    if counter.starts_at is not None:
        reschedule(offer.assignment, counter.starts_at, counter.ends_at, actor=actor)
    _assign(offer, actor, price_cents=counter.price_cents + counter.expenses_cents,
            action=Action.COUNTEROFFER_ACCEPTED)


def expire_offers(now: datetime | None = None) -> int:
    """Set-based: every open offer past its expiry becomes expired."""
    now = now or clock.now()
    return db.session.execute(update(Offer).where(
        Offer.status == OfferStatus.OPEN, Offer.expires_at <= now)
        .values(status=OfferStatus.EXPIRED).execution_options(synchronize_session=False)).rowcount


def list_technician_offers(user: User) -> list[Offer]:
    return list(db.session.scalars(select(Offer).where(Offer.technician_id == user.technician.id)
                                   .order_by(Offer.created_at.desc()).limit(100)))


def list_assignment_offers(assignment: Assignment) -> list[Offer]:
    return list(db.session.scalars(select(Offer).where(Offer.assignment_id == assignment.id)
                                   .order_by(Offer.status, Offer.created_at)))


def request_marketplace_offer(user: User, assignment: Assignment) -> Offer:
    """A technician picks up an assignment that was opened to the marketplace."""
    tech = user.technician
    engagement = db.session.get(Engagement, assignment.id)
    if tech is None or engagement is None or not engagement.open_to_marketplace \
            or assignment.status != AssignmentStatus.PUBLISHED:
        raise InvalidState("This assignment is not open to the marketplace.")
    existing = db.session.scalar(select(Offer).where(Offer.assignment_id == assignment.id,
                                                     Offer.technician_id == tech.id))
    if existing is not None and existing.status not in (OfferStatus.CLOSED, OfferStatus.EXPIRED):
        return existing
    assert_can_take(tech, assignment)
    sent = send_offers(assignment, [tech.id], source=OfferSource.MARKETPLACE)
    return sent[0] if sent else existing


def counts_for_technician(user: User) -> dict:
    from sqlalchemy import func
    rows = dict(db.session.execute(select(Offer.status, func.count()).where(
        Offer.technician_id == user.technician.id).group_by(Offer.status)).all())
    return {"open": rows.get(OfferStatus.OPEN, 0) + rows.get(OfferStatus.COUNTERED, 0),
            "applied": rows.get(OfferStatus.APPLIED, 0),
            "upcoming": db.session.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.assignee_id == user.technician.id,
                Assignment.status == AssignmentStatus.ASSIGNED)) or 0}


def counts_for_firm(user: User) -> dict:
    from sqlalchemy import func
    firm_id = user.membership.firm_id
    base = select(func.count()).select_from(Offer).join(Assignment).where(
        Assignment.firm_id == firm_id)
    return {"counteroffers": db.session.scalar(base.where(Offer.status == OfferStatus.COUNTERED)) or 0,
            "applicants": db.session.scalar(base.where(Offer.status == OfferStatus.APPLIED)) or 0,
            "routing": db.session.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.firm_id == firm_id, Assignment.status == AssignmentStatus.PUBLISHED)) or 0}
