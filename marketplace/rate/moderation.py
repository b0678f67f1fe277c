"""Reports of comments and disputes of events: people ask, an admin decides, audited."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..accounts.policy import is_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..notifications.services import notify
from . import events
from .models import SITE_NOT_READY, Direction, Dispute, RateEvent, Rating, RatingReport
from .scorecards import DISPUTE_DAYS, may_dispute


def _reason(text: str, field: str = "reason", limit: int = 300) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.field(field, "Say why.")
    return text[:limit]


def _party(user: User, rating: Rating) -> bool:
    tech = getattr(user, "technician", None)
    return is_member(user, rating.firm_id) or (tech is not None and
                                               tech.id == rating.technician_id)


def report(user: User, rating: Rating, reason: str) -> RatingReport:
    """Either side of the work asks the platform to look at a revealed comment."""
    if not _party(user, rating) or rating.revealed_at is None:
        raise PermissionDenied("You can report comments on your own work.")
    reason = _reason(reason)
    existing = db.session.scalar(select(RatingReport).where(
        RatingReport.rating_id == rating.id, RatingReport.reporter_id == user.id))
    if existing is not None:
        raise InvalidState("You have already reported this comment.")
    item = RatingReport(rating_id=rating.id, reporter_id=user.id, reason=reason)
    db.session.add(item)
    db.session.flush()
    audit.record(Action.RATING_REPORTED, rating, actor=user, firm_id=rating.firm_id,
                 after={"reason": reason})
    return item


def open_reports(limit: int = 100) -> list[RatingReport]:
    return list(db.session.scalars(select(RatingReport).where(RatingReport.resolved_at.is_(None))
                                   .order_by(RatingReport.created_at).limit(limit)))


def _require_admin(user: User) -> None:
    if not getattr(user, "is_admin", False):
        raise PermissionDenied("Only platform admins moderate.")


def hide(admin: User, rating: Rating, reason: str) -> Rating:
    """Hide a public comment (the stars still count), with the reason shown in its place."""
    _require_admin(admin)
    reason = _reason(reason)
    now = clock.now()
    db.session.execute(update(Rating).where(Rating.id == rating.id)
                       .values(hidden_at=now, hidden_reason=reason, hidden_by_id=admin.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(RatingReport).where(RatingReport.rating_id == rating.id,
                                                  RatingReport.resolved_at.is_(None))
                       .values(resolved_at=now, resolved_by_id=admin.id, outcome="hidden")
                       .execution_options(synchronize_session=False))
    db.session.refresh(rating)
    audit.record(Action.RATING_HIDDEN, rating, actor=admin, firm_id=rating.firm_id,
                 before={"comment": rating.comment}, after={"reason": reason})
    return rating


def dismiss(admin: User, item: RatingReport) -> RatingReport:
    """Keep the comment: the report is closed."""
    _require_admin(admin)
    changed = db.session.execute(
        update(RatingReport).where(RatingReport.id == item.id, RatingReport.resolved_at.is_(None))
        .values(resolved_at=clock.now(), resolved_by_id=admin.id, outcome="kept")
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(item)
    if changed != 1:
        raise InvalidState("This report was already decided.")
    audit.record(Action.RATING_REPORT_DISMISSED, item.rating, actor=admin,
                 firm_id=item.rating.firm_id, after={"report_id": item.id})
    return item


def dispute(user: User, event: RateEvent, reason: str) -> Dispute:
    """The technician contests an event that held their score down, within 14 days."""
    tech = getattr(user, "technician", None)
    if tech is None or event.technician_id != tech.id:
        raise PermissionDenied("You can dispute only your own events.")
    reason = _reason(reason, limit=500)
    if not may_dispute(event, clock.now()):
        raise InvalidState("Events can be disputed within 14 days, and only once.")
    if db.session.scalar(select(func.count()).select_from(Dispute).where(
            Dispute.assignment_id == event.assignment_id, Dispute.technician_id == tech.id,
            Dispute.kind == event.kind)):
        raise InvalidState("You have already disputed this event.")
    item = _add_once(Dispute(assignment_id=event.assignment_id, technician_id=tech.id,
                             kind=event.kind, reason=reason),
                     "You have already disputed this event.")
    audit.record(Action.RATE_EVENT_DISPUTED, item, actor=user, firm_id=event.firm_id,
                 after={"kind": event.kind, "assignment_id": event.assignment_id,
                        "reason": reason})
    return item


def _add_once(item: Dispute, already: str) -> Dispute:
    """Insert a dispute; one raised in between by a concurrent request (the unique key on
    assignment, technician and kind) is refused with `already`, not an error."""
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except IntegrityError:
        raise InvalidState(already) from None
    return item


def _contest_refusal(user: User, rating: Rating) -> str | None:
    if not is_member(user, rating.firm_id):
        return "Only the firm whose site it was can contest this report."
    if rating.direction != Direction.OF_FIRM or not rating.site_not_ready:
        return "This rating does not report the site as not ready."
    if rating.revealed_at is None or \
            clock.now() - rating.revealed_at > timedelta(days=DISPUTE_DAYS):
        return f"A report can be contested within {DISPUTE_DAYS} days of seeing it."
    if db.session.scalar(select(func.count()).select_from(Dispute).where(
            Dispute.assignment_id == rating.assignment_id,
            Dispute.technician_id == rating.technician_id, Dispute.kind == SITE_NOT_READY)):
        return "Your firm has already contested this report."
    return None


def can_contest(user: User, rating: Rating) -> bool:
    return _contest_refusal(user, rating) is None


def contest_site_report(user: User, rating: Rating, reason: str) -> Dispute:
    """The firm contests the technician's report that its site was not ready (which
    excuses the job's arrival, completion and SLA events), within 14 days of seeing it;
    an admin decides, and an upheld contest makes those events count again."""
    refusal = _contest_refusal(user, rating)
    if refusal is not None:
        if not is_member(user, rating.firm_id):
            raise PermissionDenied(refusal)
        raise InvalidState(refusal)
    reason = _reason(reason, limit=500)
    item = _add_once(Dispute(assignment_id=rating.assignment_id,
                             technician_id=rating.technician_id, kind=SITE_NOT_READY,
                             reason=reason, raised_by_id=user.id),
                     "Your firm has already contested this report.")
    audit.record(Action.RATE_EVENT_DISPUTED, item, actor=user, firm_id=rating.firm_id,
                 after={"kind": SITE_NOT_READY, "assignment_id": rating.assignment_id,
                        "technician_id": rating.technician_id, "reason": reason})
    return item


def open_disputes(limit: int = 100) -> list[Dispute]:
    return list(db.session.scalars(select(Dispute).where(Dispute.status == "open")
                                   .order_by(Dispute.created_at).limit(limit)))


def decide(admin: User, item: Dispute, uphold: bool, note: str = "") -> Dispute:
    """Uphold (the event no longer counts) or reject; the technician is told."""
    _require_admin(admin)
    status = "upheld" if uphold else "rejected"
    changed = db.session.execute(
        update(Dispute).where(Dispute.id == item.id, Dispute.status == "open")
        .values(status=status, decided_by_id=admin.id, decided_at=clock.now(),
                decision_note=(note or "").strip()[:500] or None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(item)
    if changed != 1:
        raise InvalidState("This dispute was already decided.")
    audit.record(Action.RATE_DISPUTE_DECIDED, item, actor=admin,
                 firm_id=item.assignment.firm_id, after={"status": status, "note": note})
    if uphold:
        events.sync_assignment(item.assignment_id)
    if item.by_firm:
        _tell_of_contest(item, uphold, note)
        return item
    notify(item.technician.user, "rate.dispute_decided",
           "Dispute upheld" if uphold else "Dispute not upheld",
           (note or "") + (" The event no longer counts in your score." if uphold else ""),
           link=path_for("rate.my_scorecard"))
    return item


def _tell_of_contest(item: Dispute, uphold: bool, note: str) -> None:
    """Both sides learn how a firm's contest of a site report was decided."""
    title = "Site report contest upheld" if uphold else "Site report contest not upheld"
    work = path_for("rate.work_ratings", work_id=item.assignment_id)
    if item.raised_by is not None:
        notify(item.raised_by, "rate.dispute_decided", title,
               (note or "") + (" The report no longer stands." if uphold else ""), link=work)
    notify(item.technician.user, "rate.dispute_decided", title,
           (note or "") + (" The firm showed its site was ready: the job's arrival, completion"
                           " and SLA count in your score." if uphold else
                           " Your report stands."), link=path_for("rate.my_scorecard"))
