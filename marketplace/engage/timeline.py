"""An assignment's engagement timeline: what happened to it and its offers, as sentences."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from ..accounts.models import TechnicianProfile, User
from ..core.actions import Action
from ..core.audit import AuditEntry
from ..extensions import db
from ..find.models import Assignment
from ..web.ui import plural
from .models import Offer, RoutingMode


@dataclass
class Event:
    at: datetime
    sentence: str
    action: str


def _possessive(name: str) -> str:
    return f"{name}'s"          # "Dana Reyes's counteroffer"


class _Names:
    """Who is who in a timeline: actors (users), technicians (by profile or offer)."""

    def __init__(self, entries: list[AuditEntry], offers: dict[int, Offer]):
        tech_ids = {o.technician_id for o in offers.values()}
        for e in entries:
            for side in (e.before or {}, e.after or {}):
                if side.get("assignee_id"):
                    tech_ids.add(side["assignee_id"])
        self.techs = {t.id: t for t in db.session.scalars(select(TechnicianProfile).where(
            TechnicianProfile.id.in_(tech_ids)))} if tech_ids else {}
        user_ids = {e.actor_id for e in entries if e.actor_id}
        self.users = {u.id: u for u in db.session.scalars(select(User).where(
            User.id.in_(user_ids)))} if user_ids else {}
        self.offers = offers

    def actor(self, e: AuditEntry) -> str:
        user = self.users.get(e.actor_id)
        return user.name if user else "The platform"

    def tech(self, tech_id: int | None) -> str:
        t = self.techs.get(tech_id)
        return t.name if t else "A technician"

    def offer_tech(self, e: AuditEntry) -> str:
        offer = self.offers.get(e.subject_id)
        return self.tech(offer.technician_id if offer else None)

    def by_technician(self, e: AuditEntry, tech_id: int | None) -> bool:
        t = self.techs.get(tech_id)
        return t is not None and e.actor_id is not None and e.actor_id == t.user_id


def _sentence(e: AuditEntry, names: _Names, assignment: Assignment) -> str:
    after, before = e.after or {}, e.before or {}
    actor = names.actor(e)
    assignee = names.tech(after.get("assignee_id"))
    previous = names.tech(before.get("assignee_id"))
    if e.subject_type == "offers":
        tech = names.offer_tech(e)
        offer = names.offers.get(e.subject_id)
        tech_id = offer.technician_id if offer else None
        if e.action == Action.OFFER_APPLIED:
            return f"{tech} applied"
        if e.action == Action.OFFER_DECLINED:
            reason = after.get("reason")
            return f"{tech} declined" + (f": “{reason}”" if reason else "")
        if e.action == Action.OFFER_COUNTERED:
            if after.get("by") == "technician":
                return f"{tech} sent a counteroffer"
            return f"{actor} sent {tech} a counteroffer"
        if e.action == Action.COUNTEROFFER_REJECTED:
            if names.by_technician(e, tech_id):
                return f"{tech} turned down {assignment.firm.name}'s counteroffer"
            return f"{actor} turned down {_possessive(tech)} counteroffer"
    simple = {
        Action.ASSIGNMENT_CREATED: f"{actor} created the assignment",
        Action.ASSIGNMENT_UPDATED: f"{actor} changed the details",
        Action.ASSIGNMENT_PUBLISHED: f"{actor} published it",
        Action.ASSIGNMENT_OPENED_TO_MARKETPLACE: "It opened to every qualified technician "
                                                 "(the marketplace)",
        Action.ASSIGNMENT_ACCEPTED: f"{assignee} accepted the offer and has the assignment",
        Action.ASSIGNMENT_CHOSEN: f"{actor} chose {assignee}",
        Action.ASSIGNMENT_CANCELLED: f"{actor} cancelled it",
        Action.ASSIGNMENT_BACKED_OUT: f"{previous} backed out; it went back to routing",
        Action.ASSIGNMENT_OFFBOARDED: f"{previous} was taken off it (a required credential "
                                      "lapsed); it went back to routing",
        Action.ASSIGNMENT_NO_SHOW_RELEASED: f"{previous} did not show; it went back to routing",
        Action.ASSIGNMENT_RESCHEDULED: f"{actor} moved it",
    }
    if e.action == Action.ASSIGNMENT_ROUTED:
        try:
            mode = RoutingMode(after.get("mode")).label.lower()
        except ValueError:
            mode = None
        return f"{actor} routed it" + (f" ({mode})" if mode else "")
    if e.action == Action.ASSIGNMENT_BACKFILLED:
        n = len(after.get("standby") or [])
        return (f"Offered to {n} standby {plural(n, 'technician')}" if n
                else "No standby technician was free to take it")
    if e.action == Action.COUNTEROFFER_ACCEPTED:
        if names.by_technician(e, after.get("assignee_id")):
            return f"{assignee} accepted {assignment.firm.name}'s counteroffer and has the assignment"
        return f"{_possessive(assignee)} counteroffer was accepted by {actor}"
    if e.action in simple:
        return simple[e.action]
    # A later stage's event: its name, read as words.
    words = e.action.split(".", 1)[-1].replace("_", " ")
    return f"{words.capitalize()}" + (f" ({actor})" if e.actor_id else "")


def timeline(assignment: Assignment) -> list[Event]:
    """Everything audited on the assignment and on its offers, oldest first."""
    offers = {o.id: o for o in db.session.scalars(select(Offer).where(
        Offer.assignment_id == assignment.id))}
    subjects = [and_(AuditEntry.subject_type == "assignments",
                     AuditEntry.subject_id == assignment.id)]
    if offers:
        subjects.append(and_(AuditEntry.subject_type == "offers",
                             AuditEntry.subject_id.in_(list(offers))))
    entries = list(db.session.scalars(select(AuditEntry).where(or_(*subjects))
                                      .order_by(AuditEntry.occurred_at, AuditEntry.id)))
    names = _Names(entries, offers)
    return [Event(e.occurred_at, _sentence(e, names, assignment), e.action) for e in entries]
