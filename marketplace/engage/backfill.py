"""When plans change: backouts, offboarding, cancellation, and automatic backfill."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager

from ..accounts.models import TechnicianProfile, User
from ..accounts.policy import require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import format_money
from ..core.sets import chunks, in_ids
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..find.lifecycle import OPEN_STATES, reschedule, sources_of, transition
from ..find.matching import match_technicians
from ..find.models import Assignment, AssignmentStatus
from ..notifications.services import notify, notify_firm
from ..verify import compliance
from ..verify.models import RequirementItem
from .eligibility import eligible_ids
from .models import (
    LIVE_OFFER_STATES,
    Backout,
    Cancellation,
    Engagement,
    Offer,
    OfferSource,
    OfferStatus,
)
from .offers import _withdraw_counteroffers, close_open_offers, send_offers

LAPSED_REASON = "A credential the work requires lapsed or no longer covers it."


def backfill(assignment: Assignment) -> list[Offer]:
    """Offer the assignment at once to the next best matches (the standby list),
    skipping anyone who declined or backed out of it."""
    engagement = db.session.get(Engagement, assignment.id)
    if engagement is None or assignment.status != AssignmentStatus.PUBLISHED:
        return []
    excluded = set(db.session.scalars(select(Offer.technician_id).where(
        Offer.assignment_id == assignment.id, Offer.status == OfferStatus.DECLINED)))
    excluded |= set(db.session.scalars(select(Backout.technician_id).where(
        Backout.assignment_id == assignment.id)))
    live = set(db.session.scalars(select(Offer.technician_id).where(
        Offer.assignment_id == assignment.id, Offer.status.in_(LIVE_OFFER_STATES))))
    matches = match_technicians(assignment, k=engagement.standby_size + len(live),
                                exclude_ids=excluded | live)
    standby = eligible_ids(assignment, [m.technician_id for m in matches])[:engagement.standby_size]
    sent = send_offers(assignment, standby, source=OfferSource.STANDBY)
    audit.record(Action.ASSIGNMENT_BACKFILLED, assignment, firm_id=assignment.firm_id,
                 after={"standby": [o.technician_id for o in sent]})
    return sent


def _release(assignment: Assignment, tech: TechnicianProfile, *, actor, reason: str,
             offboarded: bool) -> Backout:
    hours = int((assignment.starts_at - clock.now()).total_seconds() // 3600)
    transition(assignment, AssignmentStatus.PUBLISHED, actor=actor,
               action=Action.ASSIGNMENT_OFFBOARDED if offboarded else Action.ASSIGNMENT_BACKED_OUT,
               expect_assignee=tech.id, assignee_id=None, agreed_price_cents=None,
               agreed_expenses_cents=None,
               message="You can only back out of assigned work before check-in.")
    record = Backout(assignment_id=assignment.id, technician_id=tech.id, reason=reason[:300],
                     hours_before_start=hours, offboarded=offboarded)
    db.session.add(record)
    db.session.execute(update(Offer).where(Offer.assignment_id == assignment.id,
                                           Offer.technician_id == tech.id)
                       .values(status=OfferStatus.CLOSED, decline_reason=reason[:300])
                       .execution_options(synchronize_session=False))
    notify_firm(assignment.firm_id, "assignment.backed_out",
                f"{tech.name} is off {assignment.title}",
                f"{reason}\nWe offered it to your standby technicians right away.",
                link=path_for("engage.engagement", assignment_id=assignment.id))
    db.session.flush()
    return record


def back_out(user: User, assignment: Assignment, reason: str) -> list[Offer]:
    """The technician gives the work back; the standby list gets it at once."""
    tech = user.technician
    if tech is None or assignment.assignee_id != tech.id:
        raise PermissionDenied("This is not your assignment.")
    if not (reason or "").strip():
        raise ValidationFailed.field("reason", "Tell the firm why you are backing out.")
    if assignment.status != AssignmentStatus.ASSIGNED:
        raise InvalidState("You can only back out of assigned work before check-in.")
    _release(assignment, tech, actor=user, reason=reason.strip(), offboarded=False)
    return backfill(assignment)


def late_cancellation_fee(assignment: Assignment) -> int:
    """What cancelling now owes the assignee: the agreed fee once inside the cutoff."""
    engagement = db.session.get(Engagement, assignment.id)
    if assignment.assignee_id is None or engagement is None:
        return 0
    hours_left = (assignment.starts_at - clock.now()).total_seconds() / 3600
    return engagement.cancellation_fee_cents if hours_left < engagement.cancellation_cutoff_hours else 0


def cancel_assignment(actor: User, assignment: Assignment, reason: str) -> Cancellation:
    """The firm cancels. After the cutoff, an assigned technician is owed the fee.

    The fee and the notice follow from the assignment as read (its assignee), so it
    cancels only from that version: if someone took or left it meanwhile, nothing
    changes and the firm is asked to look again."""
    require_member(actor, assignment.firm_id, message="Only the firm can cancel its assignment.")
    if not (reason or "").strip():
        raise ValidationFailed.field("reason", "Say why (the technician sees it).")
    version, assignee = assignment.version, assignment.assignee
    fee = late_cancellation_fee(assignment)
    try:
        transition(assignment, AssignmentStatus.CANCELLED, actor=actor,
                   action=Action.ASSIGNMENT_CANCELLED, expect_version=version)
    except InvalidState:
        if assignment.status in sources_of(AssignmentStatus.CANCELLED):
            raise InvalidState("This assignment changed meanwhile (taken, released or edited); "
                               "look at it again before cancelling.", code="stale_version") from None
        raise
    record = Cancellation(assignment_id=assignment.id, cancelled_by_id=actor.id,
                          reason=reason.strip()[:300], fee_cents=fee, currency=assignment.currency,
                          technician_id=assignee.id if assignee else None)
    db.session.add(record)
    close_open_offers(assignment)
    if assignee is not None:
        body = f"Reason: {reason.strip()}"
        if fee:
            body += (f"\nA cancellation fee of {format_money(fee, record.currency)} "
                     "is owed to you.")
        notify(assignee.user, "assignment.cancelled", f"Cancelled: {assignment.title}", body)
    db.session.flush()
    return record


def _by_technician(pairs) -> dict[int, set[int]]:
    by_tech: dict[int, set[int]] = {}
    for tid, type_id in pairs:
        by_tech.setdefault(tid, set()).add(type_id)
    return by_tech


def _still_compliant(on: date, wanted: dict[int | None, set[int]]) -> dict:
    """{requirement set: technicians of `wanted[set]` still compliant on `on`} (None:
    the set asks nothing): verify's one rule, one statement per set."""
    return {set_id: compliance.compliant_ids(set_id, on, sorted(tids))
            for set_id, tids in wanted.items()}


def _needing(rows, by_tech: dict[int, set[int]], on: date) -> list:
    """Of (item, technician id, requirement set, credential type) rows, the items whose
    set needs a type that lapsed for that technician and which they no longer meet.
    Whoever another credential still keeps compliant stays."""
    hit = {}
    for item, tid, set_id, type_id in rows:
        if type_id in by_tech.get(tid, ()):
            hit[id(item)] = (item, tid, set_id)
    wanted: dict[int | None, set[int]] = {}
    for _, tid, set_id in hit.values():
        wanted.setdefault(set_id, set()).add(tid)
    ok = _still_compliant(on, wanted)
    return [item for item, tid, set_id in hit.values()
            if ok[set_id] is not None and tid not in ok[set_id]]


def close_lapsed_offers(pairs: list[tuple[int, int]], on: date) -> int:
    """Verify says these (technician, credential type) pairs lapsed (or lost coverage).
    Their live offers, applications and pending counteroffers on unfilled work that needs
    the type close, so the firm sees no stale applicants. Returns how many closed."""
    by_tech = _by_technician(pairs)
    rows = []
    for part in chunks(sorted(by_tech)):
        rows += db.session.execute(
            select(Offer, Offer.technician_id, Assignment.requirement_set_id,
                   RequirementItem.credential_type_id)
            .join(Assignment, Assignment.id == Offer.assignment_id)
            .join(RequirementItem,
                  RequirementItem.requirement_set_id == Assignment.requirement_set_id)
            .where(in_ids(Offer.technician_id, part), Offer.status.in_(LIVE_OFFER_STATES),
                   Assignment.status.in_(OPEN_STATES))
            .options(contains_eager(Offer.assignment))).all()
    closing = _needing(rows, by_tech, on)
    if not closing:
        return 0
    ids = sorted(o.id for o in closing)
    closed = list(db.session.scalars(
        update(Offer).where(Offer.id.in_(ids), Offer.status.in_(LIVE_OFFER_STATES))
        .values(status=OfferStatus.CLOSED, decline_reason=LAPSED_REASON)
        .returning(Offer.id).execution_options(synchronize_session=False)))
    _withdraw_counteroffers(closed)
    for offer in closing:
        db.session.expire(offer, ["status", "decline_reason"])
    firms: dict[int, list[dict]] = {}
    for offer in closing:
        if offer.id in closed:
            firms.setdefault(offer.assignment.firm_id, []).append(
                {"subject_id": offer.id, "after": {"status": OfferStatus.CLOSED.value,
                                                    "technician_id": offer.technician_id,
                                                    "reason": LAPSED_REASON}})
    for firm_id, entries in firms.items():
        audit.record_many(Action.OFFER_CLOSED_NOT_COMPLIANT, Offer.__tablename__, entries,
                          firm_id=firm_id)
    return len(closed)


def release_lapsed(pairs: list[tuple[int, int]], on: date) -> dict[int, list[int]]:
    """Verify says these (technician, credential type) pairs lapsed (or lost coverage).
    Future assigned work needing the type that they no longer meet goes back to routing
    with backfill; in-progress work is left alone and its firm alerted.
    Returns {technician_id: [released assignment ids]}."""
    if not pairs:
        return {}
    released: dict[int, list[int]] = {}
    by_tech = _by_technician(pairs)
    found = []
    for part in chunks(sorted(by_tech)):
        found += db.session.execute(
            select(Assignment, Assignment.assignee_id, Assignment.requirement_set_id,
                   RequirementItem.credential_type_id)
            .join(RequirementItem,
                  RequirementItem.requirement_set_id == Assignment.requirement_set_id)
            .where(in_ids(Assignment.assignee_id, part),
                   Assignment.status.in_([AssignmentStatus.ASSIGNED,
                                          AssignmentStatus.IN_PROGRESS]))).all()
    for assignment in _needing(found, by_tech, on):
        tid = assignment.assignee_id
        if tid is None:
            continue
        tech = db.session.get(TechnicianProfile, tid)
        if assignment.status == AssignmentStatus.ASSIGNED:
            try:
                _release(assignment, tech, actor=None, offboarded=True,
                         reason="A required credential lapsed; the technician was removed.")
            except InvalidState:
                pass  # it moved on since it was read (cancelled, given back, checked in)
            else:
                backfill(assignment)
                released.setdefault(tid, []).append(assignment.id)
                continue
        if assignment.status == AssignmentStatus.IN_PROGRESS and assignment.assignee_id == tid:
            notify_firm(assignment.firm_id, "assignment.credential_lapsed",
                        f"{tech.name}'s credential lapsed during {assignment.title}",
                        "The visit is in progress, so we did not remove them. Review it.",
                        link=path_for("engage.engagement", assignment_id=assignment.id),
                        dedupe_key=f"lapse-inprogress-{assignment.id}-{tid}")
    return released


def release_no_show(actor: User, assignment: Assignment, starts_at, ends_at) -> list[Offer]:
    """Take work back from a technician who did not show up, move it to a new window
    and offer it to the standby list."""
    if assignment.assignee is None:
        raise InvalidState("Nobody holds this assignment.")
    _release(assignment, assignment.assignee, actor=actor, offboarded=False,
             reason="No-show: did not check in before the window ended.")
    reschedule(assignment, starts_at, ends_at, actor=actor)
    audit.record(Action.ASSIGNMENT_NO_SHOW_RELEASED, assignment, actor=actor,
                 firm_id=assignment.firm_id)
    return backfill(assignment)
