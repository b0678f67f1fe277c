"""Offers to technicians: accept, decline, apply, choose, counteroffer, expire."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import TechnicianProfile, TechnicianStatus, User
from ..accounts.policy import check_budget_limit, require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import cents, format_terms
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..find.lifecycle import reschedule, transition
from ..find.models import Assignment, AssignmentStatus
from ..notifications.services import notify, notify_firm
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
    """Offer the assignment to technicians who have no live or declined offer for it.

    Only while it is published: its row is locked before that is read, so an offer
    cannot open under an acceptance or a cancellation that closed the others."""
    engagement = engagement_of(assignment)
    status = db.session.scalar(select(Assignment.status).where(Assignment.id == assignment.id)
                               .with_for_update())
    if status != AssignmentStatus.PUBLISHED:
        return []
    existing = {o.technician_id: o for o in db.session.scalars(
        select(Offer).where(Offer.assignment_id == assignment.id,
                            Offer.technician_id.in_(technician_ids)))}
    expires = min(clock.now() + timedelta(hours=engagement.offer_ttl_hours), assignment.starts_at)
    sent = []
    for tid in technician_ids:
        offer = existing.get(tid)
        if offer is not None:
            # Closed or expired offers open again; live, declined or accepted ones stay.
            if not _moved(offer, (OfferStatus.CLOSED, OfferStatus.EXPIRED), OfferStatus.OPEN,
                          expires_at=expires, source=source, price_cents=assignment.budget_cents,
                          expenses_cents=0, currency=assignment.currency):
                continue
        else:
            offer = Offer(assignment_id=assignment.id, technician_id=tid, stage_id=stage_id,
                          source=source, price_cents=assignment.budget_cents, expenses_cents=0,
                          currency=assignment.currency, expires_at=expires)
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


def _standing(offer: Offer) -> OfferStatus:
    """What the offer is now: an open offer past its expiry is expired (expire_offers
    writes that down)."""
    if offer.status == OfferStatus.OPEN and offer.expires_at <= clock.now():
        return OfferStatus.EXPIRED
    return offer.status


def _require_live(offer: Offer, *states: OfferStatus) -> None:
    status = _standing(offer)
    if status not in (states or LIVE_OFFER_STATES):
        raise InvalidState(f"This offer is {status.label.lower()}.", code="offer_closed")


def _moved(item: Offer | Counteroffer, from_states, to, **values) -> bool:
    """Compare-and-set: move an offer or a counteroffer to `to` only if it is still in
    one of `from_states` (an open offer also only before its expiry); re-read it either way.
    False when a concurrent action changed it first."""
    model = type(item)
    stmt = (update(model).where(model.id == item.id, model.status.in_(from_states))
            .values(status=to, **values).execution_options(synchronize_session=False))
    if model is Offer and OfferStatus.OPEN in from_states:
        stmt = stmt.where(or_(Offer.status != OfferStatus.OPEN, Offer.expires_at > clock.now()))
    changed = db.session.execute(stmt).rowcount == 1
    db.session.refresh(item)
    return changed


def _move(item: Offer | Counteroffer, from_states, to, **values) -> None:
    """Every status change of an offer or counteroffer: conditional on the status the
    caller read, or InvalidState saying what it is now."""
    if _moved(item, from_states, to, **values):
        return
    if isinstance(item, Offer):
        raise InvalidState(f"This offer is {_standing(item).label.lower()}.", code="offer_closed")
    raise InvalidState(f"This counteroffer is already {item.status.value}.",
                       code="counteroffer_decided")


def close_open_offers(assignment: Assignment, *, keep: Offer | None = None) -> None:
    """The assignment was taken or cancelled: every other live offer closes and every
    pending counteroffer on its offers is withdrawn, in the caller's transaction."""
    stmt = update(Offer).where(Offer.assignment_id == assignment.id,
                               Offer.status.in_(LIVE_OFFER_STATES))
    if keep is not None:
        stmt = stmt.where(Offer.id != keep.id)
    db.session.execute(stmt.values(status=OfferStatus.CLOSED)
                       .execution_options(synchronize_session=False))
    _withdraw_counteroffers(select(Offer.id).where(Offer.assignment_id == assignment.id))


def _withdraw_counteroffers(offer_ids) -> None:
    db.session.execute(update(Counteroffer).where(
        Counteroffer.offer_id.in_(offer_ids), Counteroffer.status == CounterStatus.PENDING)
        .values(status=CounterStatus.WITHDRAWN, decided_at=clock.now())
        .execution_options(synchronize_session=False))


def _assign(offer: Offer, actor: User, *, from_states: tuple[OfferStatus, ...], price_cents: int,
            expenses_cents: int, action: str, counter: Counteroffer | None = None) -> None:
    """The one place a technician becomes the assignee: race-free and double-booking-free.

    The technician's commitments are serialised; a counteroffer's new window is applied
    first (conditionally); the assignment moves only from the state and version whose
    window was checked, the offer (and the counteroffer) only from the status read; what
    else is open on the assignment closes in the same transaction. Rows are written in
    the order every other action follows (assignment, then offers, then counteroffers),
    so racing actions wait for each other rather than deadlock.
    The agreed labour price and expenses stay apart, on the offer and the assignment."""
    assignment = offer.assignment
    tech = offer.technician
    lock_technician(tech.id)
    if counter is not None and counter.starts_at is not None:
        reschedule(assignment, counter.starts_at, counter.ends_at, actor=actor)
    checked = assignment.version
    assert_can_take(tech, assignment)
    try:
        transition(assignment, AssignmentStatus.ASSIGNED, actor=actor, action=action,
                   expect_version=checked, message="Sorry, this assignment was already taken.",
                   code="already_taken", assignee_id=tech.id, agreed_price_cents=price_cents,
                   agreed_expenses_cents=expenses_cents)
    except InvalidState:
        if assignment.status == AssignmentStatus.PUBLISHED:
            raise InvalidState("The firm changed this assignment meanwhile; look at it again.",
                               code="stale_version") from None
        raise
    now = clock.now()
    _move(offer, from_states, OfferStatus.ACCEPTED, responded_at=now, price_cents=price_cents,
          expenses_cents=expenses_cents)
    if counter is not None:
        _move(counter, (CounterStatus.PENDING,), CounterStatus.ACCEPTED, decided_at=now)
    close_open_offers(assignment, keep=offer)
    notify_firm(assignment.firm_id, "assignment.assigned", f"{tech.name} has {assignment.title}",
                f"Agreed price {format_terms(price_cents, expenses_cents, offer.currency)}.",
                link=path_for("engage.engagement", assignment_id=assignment.id), email=False)
    notify(tech.user, "assignment.assigned", f"You have the job: {assignment.title}",
           "It is on your schedule.", link=path_for("engage.offer", offer_id=offer.id))


def accept_offer(user: User, offer: Offer) -> None:
    """First-to-accept: take the assignment at the offered price."""
    _mine(user, offer)
    _require_live(offer, OfferStatus.OPEN)
    if engagement_of(offer.assignment).mode != RoutingMode.FIRST_TO_ACCEPT:
        raise InvalidState("This firm chooses among applicants: apply instead.")
    _assign(offer, user, from_states=(OfferStatus.OPEN,), price_cents=offer.price_cents,
            expenses_cents=offer.expenses_cents, action=Action.ASSIGNMENT_ACCEPTED)


def decline_offer(user: User, offer: Offer, reason: str) -> None:
    """Say no (or withdraw an application); a counteroffer waiting on it is withdrawn."""
    _mine(user, offer)
    _require_live(offer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Tell the firm why (it helps them route better).")
    _move(offer, LIVE_OFFER_STATES, OfferStatus.DECLINED, decline_reason=reason[:300],
          responded_at=clock.now())
    _withdraw_counteroffers([offer.id])
    audit.record(Action.OFFER_DECLINED, offer, actor=user, firm_id=offer.assignment.firm_id,
                 after={"reason": offer.decline_reason})


def apply_to_offer(user: User, offer: Offer) -> None:
    _mine(user, offer)
    _require_live(offer, OfferStatus.OPEN)
    assert_can_take(offer.technician, offer.assignment)
    _move(offer, (OfferStatus.OPEN,), OfferStatus.APPLIED, responded_at=clock.now())
    audit.record(Action.OFFER_APPLIED, offer, actor=user, firm_id=offer.assignment.firm_id)


def _check_firm_actor(actor: User, assignment: Assignment, price_cents: int) -> None:
    require_member(actor, assignment.firm_id, message="Only the firm can do that.")
    check_budget_limit(actor, assignment.firm_id, price_cents,
                       message="That is above your budget limit; ask a manager.")


def choose_applicant(actor: User, offer: Offer) -> None:
    _check_firm_actor(actor, offer.assignment, offer.price_cents)
    _require_live(offer, OfferStatus.APPLIED)
    _assign(offer, actor, from_states=(OfferStatus.APPLIED,), price_cents=offer.price_cents,
            expenses_cents=offer.expenses_cents, action=Action.ASSIGNMENT_CHOSEN)


def propose_counteroffer(actor: User, offer: Offer, *, price_cents: int, expenses_cents: int = 0,
                         starts_at: datetime | None = None, ends_at: datetime | None = None,
                         note: str = "") -> Counteroffer:
    """Either side proposes new terms; the other side decides."""
    price_cents = cents(price_cents, "price_cents", minimum=1)
    expenses_cents = cents(expenses_cents, "expenses_cents")
    side = "technician" if actor.technician is not None else "firm"
    if side == "technician":
        tech = _mine(actor, offer)
        if tech.status != TechnicianStatus.ACTIVE:
            raise PermissionDenied(tech.status_reason or f"Your account is {tech.status.value}; "
                                   "you cannot take or negotiate work.")
    else:
        _check_firm_actor(actor, offer.assignment, price_cents + expenses_cents)
    _require_live(offer)
    if offer.pending_counteroffer is not None:
        raise InvalidState("A counteroffer is already waiting for an answer.")
    if (starts_at is None) != (ends_at is None) or (starts_at and ends_at <= starts_at):
        raise ValidationFailed.field("starts_at", "Give a start and an end after it.")
    # A countered offer has its one pending counteroffer: only an open or applied one moves.
    _move(offer, (OfferStatus.OPEN, OfferStatus.APPLIED), OfferStatus.COUNTERED)
    counter = Counteroffer(offer_id=offer.id, proposed_by=side, price_cents=price_cents,
                           expenses_cents=expenses_cents, currency=offer.currency,
                           starts_at=starts_at, ends_at=ends_at,
                           note=(note or "").strip()[:1000])
    db.session.add(counter)
    db.session.flush()
    audit.record(Action.OFFER_COUNTERED, offer, actor=actor, firm_id=offer.assignment.firm_id,
                 after={"by": side, "price_cents": price_cents, "expenses_cents": expenses_cents})
    assignment = offer.assignment
    if side == "technician":
        notify_firm(assignment.firm_id, "counteroffer.received",
                    f"Counteroffer on {assignment.title}",
                    f"{offer.technician.name} proposes "
                    f"{format_terms(price_cents, expenses_cents, offer.currency)}.",
                    link=path_for("engage.engagement", assignment_id=assignment.id), email=False)
    else:
        notify(offer.technician.user, "counteroffer.received",
               f"{assignment.firm.name} proposes new terms", link=path_for("engage.offer", offer_id=offer.id))
    return counter


def decide_counteroffer(actor: User, counter: Counteroffer, accept: bool) -> None:
    """The other side answers: accepted, the proposer gets the work on those terms;
    rejected, the offer is open again. Conditional on both still waiting."""
    offer = counter.offer
    if counter.status != CounterStatus.PENDING:
        raise InvalidState(f"This counteroffer is already {counter.status.value}.",
                           code="counteroffer_decided")
    if counter.proposed_by == "technician":
        _check_firm_actor(actor, offer.assignment, counter.price_cents + counter.expenses_cents)
    else:
        _mine(actor, offer)
    if accept:
        _assign(offer, actor, from_states=(OfferStatus.COUNTERED,), price_cents=counter.price_cents,
                expenses_cents=counter.expenses_cents, action=Action.COUNTEROFFER_ACCEPTED,
                counter=counter)
        return
    _move(offer, (OfferStatus.COUNTERED,), OfferStatus.OPEN)
    _move(counter, (CounterStatus.PENDING,), CounterStatus.REJECTED, decided_at=clock.now())
    audit.record(Action.COUNTEROFFER_REJECTED, offer, actor=actor, firm_id=offer.assignment.firm_id)


def expire_offers(now: datetime | None = None) -> int:
    """Set-based: every open offer past its expiry becomes expired. Offers an action
    holds at this moment are skipped (SKIP LOCKED on PostgreSQL), never waited for: they
    are being answered, and still open ones expire on the next run."""
    now = now or clock.now()
    due = (select(Offer.id).where(Offer.status == OfferStatus.OPEN, Offer.expires_at <= now)
           .with_for_update(skip_locked=True))
    return db.session.execute(update(Offer).where(
        Offer.id.in_(due.scalar_subquery()), Offer.status == OfferStatus.OPEN,
        Offer.expires_at <= now)
        .values(status=OfferStatus.EXPIRED).execution_options(synchronize_session=False)).rowcount


def list_technician_offers(user: User) -> list[Offer]:
    return list(db.session.scalars(
        select(Offer).where(Offer.technician_id == user.technician.id)
        .options(joinedload(Offer.assignment).joinedload(Assignment.firm))
        .order_by(Offer.created_at.desc()).limit(100)))


def technician_offers_stmt(user: User):
    """The technician's offers, newest first, with what a listing shows of each."""
    return select(Offer).where(Offer.technician_id == user.technician.id) \
        .options(selectinload(Offer.counteroffers)) \
        .order_by(Offer.created_at.desc(), Offer.id.desc())


def list_assignment_offers(assignment: Assignment) -> list[Offer]:
    return list(db.session.scalars(
        select(Offer).where(Offer.assignment_id == assignment.id)
        .options(joinedload(Offer.technician).joinedload(TechnicianProfile.user),
                 selectinload(Offer.counteroffers))
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
    if sent:
        return sent[0]
    # Nothing opened: taken or cancelled meanwhile, or this technician's other request won.
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == assignment.id,
                                                  Offer.technician_id == tech.id))
    if offer is None or offer.status in (OfferStatus.CLOSED, OfferStatus.EXPIRED):
        raise InvalidState("This assignment is no longer open.", code="offer_closed")
    return offer
