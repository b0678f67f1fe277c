"""Engage: routing, offers and counteroffers, the assignment lifecycle, backfill."""
from __future__ import annotations

from flask import Flask


def _on_credentials_lapsed(_sender=None, *, pairs, on, **_):
    from .backfill import close_lapsed_offers, release_lapsed
    release_lapsed(pairs, on)
    close_lapsed_offers(pairs, on)


def _offered():
    """Technicians a firm offered work to (the firm reached out)."""
    from sqlalchemy import select

    from ..find.models import Assignment
    from .models import Offer
    return (select(Assignment.firm_id.label("firm_id"), Offer.technician_id.label("technician_id"))
            .join(Assignment, Assignment.id == Offer.assignment_id))


def _engaged():
    """Technicians who answered a firm's offer with a yes: they accepted or applied (even
    if someone else got it later), proposed terms, or asked for the work themselves."""
    from sqlalchemy import exists, or_, select

    from ..find.models import Assignment
    from .models import Counteroffer, Offer, OfferSource, OfferStatus
    proposed = exists().where(Counteroffer.offer_id == Offer.id,
                              Counteroffer.proposed_by == "technician")
    return (select(Assignment.firm_id.label("firm_id"), Offer.technician_id.label("technician_id"))
            .join(Assignment, Assignment.id == Offer.assignment_id)
            .where(or_(Offer.status.in_([OfferStatus.ACCEPTED, OfferStatus.APPLIED]),
                       (Offer.status == OfferStatus.CLOSED) & Offer.responded_at.is_not(None),
                       Offer.source == OfferSource.MARKETPLACE, proposed)))


def _backed_out():
    """Technicians who held one of a firm's assignments and backed out (or were offboarded)."""
    from sqlalchemy import select

    from ..find.models import Assignment
    from .models import Backout
    return (select(Assignment.firm_id.label("firm_id"),
                   Backout.technician_id.label("technician_id"))
            .join(Assignment, Assignment.id == Backout.assignment_id))


def init_app(app: Flask) -> None:
    from ..core.signals import credentials_lapsed, subscribe
    from ..find.access import register_technician_access
    from ..find.attention import register_attention
    from ..find.feed_cards import register_feed_cards
    from ..verify.relations import register_relation
    from ..web.api import register_api
    from ..web.sections import TECHNICIAN_PROFILE, register_section
    from ..web.ui import register_nav, register_panel
    from . import (  # noqa: F401  (tables and tasks known)
        access,
        api,
        cli,
        marketplace,
        models,
        profile,
        queues,
        tasks,
        views,
    )

    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    app.cli.add_command(cli.engage)
    tasks.init_app(app)
    register_technician_access(app, access.technician_has_offer)
    register_feed_cards(app, marketplace.feed_card_actions)
    register_nav(app, "technician", "Offers", "engage.my_offers", order=20)
    register_panel(app, "technician", "engage/_panel_technician.html",
                   queues.counts_for_technician, order=20)
    register_panel(app, "firm", "engage/_panel_firm.html",
                   queues.counts_for_firm, order=20)
    register_attention(app, queues.COUNTEROFFERS)
    register_attention(app, queues.APPLICANTS)
    subscribe(app, credentials_lapsed, _on_credentials_lapsed)
    register_relation(app, _engaged)
    register_relation(app, _offered, reached_out=True)
    register_section(app, TECHNICIAN_PROFILE, "offers", "Offers and backouts",
                     "engage/_profile_history.html", profile.history_section, order=30)
    register_relation(app, _backed_out)
