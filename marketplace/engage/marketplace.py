"""Work in the technician's feed: what each card offers, and taking or applying from it."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from ..accounts.models import TechnicianProfile, User
from ..core import clock
from ..errors import InvalidState
from ..extensions import db
from ..find.feed_cards import CardAction
from ..find.models import Assignment
from . import offers
from .models import Engagement, Offer, OfferStatus, RoutingMode

# The button of each routing mode, on a card and on the assignment's page.
BUTTONS = {RoutingMode.FIRST_TO_ACCEPT: "Take it", RoutingMode.APPLY_AND_CHOOSE: "Apply"}

_MARKS = {OfferStatus.OPEN: "You have an offer",
          OfferStatus.COUNTERED: "You have an offer · counteroffer pending",
          OfferStatus.APPLIED: "Applied", OfferStatus.ACCEPTED: "Yours",
          OfferStatus.DECLINED: "You declined", OfferStatus.EXPIRED: "Your offer expired"}


def _offer_card(offer: Offer, engagement: Engagement | None) -> CardAction:
    card = CardAction(href=url_for("engage.offer", offer_id=offer.id), mark=_MARKS.get(offer.status))
    live = offer.status == OfferStatus.OPEN and offer.expires_at > clock.now()
    if live and engagement is not None:
        endpoint = ("engage.accept" if engagement.mode == RoutingMode.FIRST_TO_ACCEPT
                    else "engage.apply")
        card.button, card.post_to = BUTTONS[engagement.mode], url_for(endpoint, offer_id=offer.id)
    elif offer.status == OfferStatus.OPEN:
        card.mark = _MARKS[OfferStatus.EXPIRED]
    return card


def _marketplace_card(assignment: Assignment, engagement: Engagement) -> CardAction:
    return CardAction(href=url_for("engage.marketplace_detail", assignment_id=assignment.id),
                      button=BUTTONS[engagement.mode],
                      post_to=url_for("engage.take_from_marketplace", assignment_id=assignment.id),
                      fields={"respond": "1"})


def feed_card_actions(technician: TechnicianProfile, assignments: list[Assignment]
                      ) -> dict[int, CardAction]:
    """Every card of one feed in two queries: the technician's offers, the engagements."""
    ids = [a.id for a in assignments]
    held = {o.assignment_id: o for o in db.session.scalars(select(Offer).where(
        Offer.technician_id == technician.id, Offer.assignment_id.in_(ids)))}
    engagements = {e.assignment_id: e for e in db.session.scalars(select(Engagement).where(
        Engagement.assignment_id.in_(ids)))}
    cards = {}
    for a in assignments:
        offer, engagement = held.get(a.id), engagements.get(a.id)
        reopens = offer is not None and offer.status in (OfferStatus.CLOSED, OfferStatus.EXPIRED)
        if offer is not None and not (reopens and engagement and engagement.open_to_marketplace):
            cards[a.id] = _offer_card(offer, engagement)
        elif engagement is not None and engagement.open_to_marketplace:
            cards[a.id] = _marketplace_card(a, engagement)
        else:
            cards[a.id] = CardAction(note="Offered to chosen technicians first; it may open "
                                          "to everyone later." if engagement else
                                          "The firm has not sent offers yet.")
    return cards


def respond_from_marketplace(user: User, assignment: Assignment) -> Offer:
    """Take marketplace work at the firm's price (first to accept), or apply to it (apply
    and choose): the technician's offer is opened and answered in one step."""
    offer = offers.request_marketplace_offer(user, assignment)
    if offer.status != OfferStatus.OPEN:
        raise InvalidState("You have already answered this one: see your offers.",
                           code="offer_answered")
    if offers.engagement_of(assignment).mode == RoutingMode.FIRST_TO_ACCEPT:
        offers.accept_offer(user, offer)
    else:
        offers.apply_to_offer(user, offer)
    return offer


def held_offer(user: User, assignment: Assignment) -> Offer | None:
    """The technician's offer for the work, unless it lapsed (closed or expired)."""
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == assignment.id,
                                                  Offer.technician_id == user.technician.id))
    if offer is None or offer.status in (OfferStatus.CLOSED, OfferStatus.EXPIRED):
        return None
    return offer
