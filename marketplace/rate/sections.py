"""What rate adds to earlier stages' pages: the scorecard on a technician's profile,
the firm's own lists there, the firm's scorecard on an offer and on feed cards, and
the dashboard reminder to rate finished work."""
from __future__ import annotations

from ..accounts.policy import firm_id_of
from ..core.transactions import per_transaction
from ..extensions import db
from ..web.ui import plural
from . import firm_scores, ratings, scorecards


_LOADED = "rate_profile_loaded"


per_transaction(_LOADED)


def _loaded(subject):
    """The profile's scorecard, means, recent figures and the viewing firm's standing:
    one statement, shared by rate's two sections of the page."""
    key = (subject.technician.id, subject.firm_id)
    cache = db.session.info.setdefault(_LOADED, {})
    if key not in cache:
        firm_id = None if getattr(subject.viewer, "is_admin", False) else subject.firm_id
        cache[key] = scorecards.load(subject.technician.id, firm_id)
    return cache[key]


def profile_scorecard(subject) -> dict:
    """Firms and admins see the technician's card (no private feedback, no disputes)
    and a link to the ratings' comments."""
    return {"sc": scorecards.scorecard(subject.technician, loaded=_loaded(subject))}


def profile_lists(subject) -> dict | None:
    """The viewing firm's note, favourite and block (only that firm sees them)."""
    if subject.firm_id is None or getattr(subject.viewer, "is_admin", False):
        return None
    return {"standing": _loaded(subject)[3], "tech": subject.technician}


def offer_firm_card(subject) -> dict:
    firm = subject.assignment.firm
    return {"card": firm_scores.cards_for({firm.id})[firm.id]}


def feed_facts(technician, assignments) -> dict[int, str]:
    cards = firm_scores.cards_for({a.firm_id for a in assignments})
    return {a.id: summary(cards[a.firm_id]) for a in assignments if a.firm_id in cards}


def summary(card: firm_scores.FirmCard) -> str:
    """One line of a firm's scorecard, for a feed card."""
    parts = [f"{card.firm.name}: {card.stars}★ ({card.rated})" if card.rating is not None
             else f"{card.firm.name}: not rated yet"]
    if card.avg_days_to_pay is not None:
        parts.append(f"pays in {card.avg_days_to_pay:.1f} days on average")
    if card.cancel_rate is not None:
        parts.append(f"cancels {card.cancel_rate * 100:.0f}%")
    parts.append(f"{card.completed} {plural(card.completed, 'job')} done here")
    return " · ".join(parts)


def panel_to_rate(user) -> dict:
    return {"pending": ratings.pending_for(user, 5), "firm_view": firm_id_of(user) is not None}
