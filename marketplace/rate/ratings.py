"""Two-way, double-blind ratings after approved work.

The firm rates the technician and the technician rates the firm, each from the
approval for RATING_DAYS days. Neither sees the other's rating until both have rated
or the window has closed (the sweep reveals what is left). A rating can be edited for
EDIT_HOURS after it was given, never once revealed. The public comment is shown with
the rating; the private feedback goes to the platform only. A revealed rating of a
technician counts in their scorecard (a sealed one would leak through the score).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..accounts.models import TechnicianProfile, User
from ..accounts.policy import is_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.links import path_for
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from ..manage.models import WorkRecord
from ..notifications.services import notify, notify_firm
from . import events, firm_scores
from .models import Direction, Rating

RATING_DAYS = 14
EDIT_HOURS = 48
COMMENT_MAX = 500
FEEDBACK_MAX = 2000
FIRM_ASPECTS = ("quality", "communication", "professionalism")      # of a technician
TECH_ASPECTS = ("scope_clarity", "site_readiness", "payment_speed")  # of a firm
ASPECT_LABELS = {"quality": "Quality", "communication": "Communication",
                 "professionalism": "Professionalism", "scope_clarity": "Clarity of scope",
                 "site_readiness": "Site readiness", "payment_speed": "Payment speed"}


def side_of(user: User, assignment: Assignment) -> str:
    """Which rating this person gives on this work: the firm's or the assignee's."""
    if is_member(user, assignment.firm_id):
        return Direction.OF_TECHNICIAN
    tech = getattr(user, "technician", None)
    if tech is not None and assignment.assignee_id == tech.id:
        return Direction.OF_FIRM
    raise NotFound()


def approved_at(assignment: Assignment) -> datetime | None:
    record = db.session.get(WorkRecord, assignment.id)
    if record is None or assignment.status not in (S.APPROVED, S.PAID):
        return None
    return record.approved_at


def window_closes(assignment: Assignment) -> datetime | None:
    opened = approved_at(assignment)
    return opened + timedelta(days=RATING_DAYS) if opened else None


def get_rating(assignment_id: int, direction: str) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.assignment_id == assignment_id,
                                                  Rating.direction == direction))


def can_edit(rating: Rating, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return rating.revealed_at is None and now < rating.created_at + timedelta(hours=EDIT_HOURS)


def _stars(values: dict[str, Any], name: str, required: bool) -> int | None:
    raw = values.get(name)
    if raw in (None, ""):
        if required:
            raise ValidationFailed.field(name, "Choose 1 to 5 stars.")
        return None
    try:
        stars = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "Choose 1 to 5 stars.") from None
    if not 1 <= stars <= 5:
        raise ValidationFailed.field(name, "Choose 1 to 5 stars.")
    return stars


def _text(values: dict[str, Any], name: str, limit: int) -> str:
    text = str(values.get(name) or "").strip()
    if len(text) > limit:
        raise ValidationFailed.field(name, f"At most {limit} characters.")
    return text


def _cleaned(direction: str, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"overall": _stars(values, "overall", True),
                           "comment": _text(values, "comment", COMMENT_MAX),
                           "private_feedback": _text(values, "private_feedback", FEEDBACK_MAX)}
    if direction == Direction.OF_TECHNICIAN:
        for name in FIRM_ASPECTS:
            out[name] = _stars(values, name, False)
        hire = values.get("would_hire_again")
        out["would_hire_again"] = None if hire in (None, "") else \
            (hire if isinstance(hire, bool) else str(hire).lower() in ("1", "true", "yes", "y"))
    else:
        for name in TECH_ASPECTS:
            out[name] = _stars(values, name, False)
        ready = values.get("site_not_ready")
        out["site_not_ready"] = bool(ready) if isinstance(ready, bool) else \
            str(ready or "").lower() in ("1", "true", "yes", "y", "on")
    return out


def rate(user: User, assignment: Assignment, values: dict[str, Any]) -> Rating:
    """Give this side's rating, or edit it while that is still allowed."""
    direction = side_of(user, assignment)
    now = clock.now()
    closes = window_closes(assignment)
    if closes is None:
        raise InvalidState("Work can be rated once it is approved.")
    cleaned = _cleaned(direction, values)
    existing = get_rating(assignment.id, direction)
    if existing is not None:
        return _edit(user, existing, cleaned, now)
    if now >= closes:
        raise InvalidState(f"Ratings close {RATING_DAYS} days after approval.")
    rating = Rating(assignment_id=assignment.id, direction=direction,
                    firm_id=assignment.firm_id, technician_id=assignment.assignee_id,
                    author_id=user.id, created_at=now, updated_at=now, **cleaned)
    db.session.add(rating)
    db.session.flush()
    audit.record(Action.RATING_GIVEN, rating, actor=user, firm_id=assignment.firm_id,
                 after={"direction": direction, "overall": rating.overall})
    other = get_rating(assignment.id, _other(direction))
    if other is not None:
        reveal([rating, other], now)
    else:
        _tell_other_side(assignment, direction)
    if direction == Direction.OF_FIRM and rating.site_not_ready:
        events.mark(assignment.id)
    return rating


def _other(direction: str) -> str:
    return Direction.OF_FIRM if direction == Direction.OF_TECHNICIAN else Direction.OF_TECHNICIAN


def _edit(user: User, rating: Rating, cleaned: dict[str, Any], now: datetime) -> Rating:
    if rating.author_id != user.id and not is_member(user, rating.firm_id):
        raise PermissionDenied("Only its author edits a rating.")
    if rating.revealed_at is not None:
        raise InvalidState("This rating has been revealed; it can no longer be changed.")
    if not can_edit(rating, now):
        raise InvalidState(f"A rating can be changed for {EDIT_HOURS} hours after it is given.")
    before = {"overall": rating.overall, "comment": rating.comment}
    changed = db.session.execute(
        update(Rating).where(Rating.id == rating.id, Rating.revealed_at.is_(None))
        .values(updated_at=now, **cleaned).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(rating)
    if changed != 1:
        raise InvalidState("This rating has been revealed; it can no longer be changed.")
    audit.record(Action.RATING_EDITED, rating, actor=user, firm_id=rating.firm_id,
                 before=before, after={"overall": rating.overall, "comment": rating.comment})
    if rating.direction == Direction.OF_FIRM:
        events.mark(rating.assignment_id)
    return rating


def reveal(ratings: list[Rating], now: datetime) -> None:
    """Unseal ratings (both given, or the window closed); they count from now."""
    for rating in ratings:
        if rating.revealed_at is None:
            rating.revealed_at = now
            firm_scores.on_rating_revealed(rating)
    db.session.flush()
    assignment = ratings[0].assignment
    events.mark(assignment.id)
    link = path_for("rate.work_ratings", work_id=assignment.id)
    for rating in ratings:
        if rating.direction == Direction.OF_TECHNICIAN:
            notify(rating.technician.user, "rating.revealed",
                   f"Your rating for {assignment.title}", "The firm's rating is now visible.",
                   link=link, dedupe_key=f"rating-revealed:{rating.id}")
        else:
            notify_firm(rating.firm_id, "rating.revealed", f"Rating for {assignment.title}",
                        f"{rating.technician.name}'s rating of your firm is now visible.",
                        link=link, dedupe_key=f"rating-revealed:{rating.id}")


def _tell_other_side(assignment: Assignment, direction: str) -> None:
    link = path_for("rate.work_ratings", work_id=assignment.id)
    if direction == Direction.OF_TECHNICIAN:
        notify(assignment.assignee.user, "rating.waiting", f"Rate {assignment.firm.name}",
               "The firm has rated your work. Rate them to see it (both stay sealed until "
               "then).", link=link, dedupe_key=f"rating-waiting:{assignment.id}:tech")
    else:
        notify_firm(assignment.firm_id, "rating.waiting", f"Rate {assignment.assignee.name}",
                    f"{assignment.assignee.name} has rated your firm for {assignment.title}. "
                    "Rate them to see it.", link=link,
                    dedupe_key=f"rating-waiting:{assignment.id}:firm")


def reveal_due(now: datetime | None = None) -> int:
    """Reveal sealed ratings whose window has closed; returns how many."""
    now = now or clock.now()
    rows = db.session.execute(
        select(Rating).join(WorkRecord, WorkRecord.assignment_id == Rating.assignment_id)
        .where(Rating.revealed_at.is_(None),
               WorkRecord.approved_at <= now - timedelta(days=RATING_DAYS))
        .order_by(Rating.assignment_id)).scalars().all()
    by_assignment: dict[int, list[Rating]] = {}
    for rating in rows:
        by_assignment.setdefault(rating.assignment_id, []).append(rating)
    for group in by_assignment.values():
        reveal(group, now)
    return len(rows)


@dataclass
class Pair:
    """One piece of work's two ratings as one viewer may see them."""
    assignment: Assignment
    side: str                    # the viewer's side: the rating they give
    mine: Rating | None
    theirs: Rating | None        # None while sealed (or not given)
    theirs_given: bool           # the other side has rated (shown before reveal)
    closes_at: datetime | None
    can_rate: bool
    can_edit: bool

    @property
    def edit_until(self) -> datetime | None:
        return self.mine.created_at + timedelta(hours=EDIT_HOURS) if self.mine else None


def pair_for(user: User, assignment: Assignment) -> Pair:
    side = side_of(user, assignment)
    now = clock.now()
    mine = get_rating(assignment.id, side)
    other = get_rating(assignment.id, _other(side))
    closes = window_closes(assignment)
    theirs = other if other is not None and other.revealed_at is not None else None
    return Pair(assignment, side, mine, theirs, other is not None, closes,
                can_rate=mine is None and closes is not None and now < closes,
                can_edit=mine is not None and can_edit(mine, now))


def public_ratings_of_technician(technician_id: int, limit: int = 20) -> list[Rating]:
    """Revealed ratings of the technician, newest first (comments hidden by moderation
    are left out by the template, the stars stay)."""
    return list(db.session.scalars(
        select(Rating).where(Rating.technician_id == technician_id,
                             Rating.direction == Direction.OF_TECHNICIAN,
                             Rating.revealed_at.is_not(None))
        .options(joinedload(Rating.firm), joinedload(Rating.assignment))
        .order_by(Rating.revealed_at.desc(), Rating.id.desc()).limit(limit)))


def reply(user: User, rating: Rating, text: str) -> Rating:
    """The rated technician answers a comment publicly, once."""
    tech = getattr(user, "technician", None)
    if tech is None or rating.technician_id != tech.id or \
            rating.direction != Direction.OF_TECHNICIAN:
        raise PermissionDenied("Only the technician rated can reply.")
    if rating.revealed_at is None:
        raise InvalidState("You can reply once the rating is revealed.")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.field("reply", "Write your reply.")
    if len(text) > COMMENT_MAX:
        raise ValidationFailed.field("reply", f"At most {COMMENT_MAX} characters.")
    now = clock.now()
    changed = db.session.execute(
        update(Rating).where(Rating.id == rating.id, Rating.reply.is_(None))
        .values(reply=text, replied_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(rating)
    if changed != 1:
        raise InvalidState("You have already replied to this rating.")
    audit.record(Action.RATING_REPLIED, rating, actor=user, firm_id=rating.firm_id,
                 after={"reply": text})
    return rating


def pending_for(user: User, limit: int = 10) -> list[Assignment]:
    """Approved work this person can still rate (the dashboard's reminder)."""
    since = clock.now() - timedelta(days=RATING_DAYS)
    stmt = (select(Assignment).join(WorkRecord, WorkRecord.assignment_id == Assignment.id)
            .where(WorkRecord.approved_at > since, Assignment.status.in_((S.APPROVED, S.PAID))))
    if getattr(user, "is_firm_user", False) and user.firm is not None:
        direction = Direction.OF_TECHNICIAN
        stmt = stmt.where(Assignment.firm_id == user.firm.id)
    elif getattr(user, "technician", None) is not None:
        direction = Direction.OF_FIRM
        stmt = stmt.where(Assignment.assignee_id == user.technician.id)
    else:
        return []
    rated = select(Rating.id).where(Rating.assignment_id == Assignment.id,
                                    Rating.direction == direction).exists()
    return list(db.session.scalars(
        stmt.where(~rated).options(joinedload(Assignment.firm),
                                   joinedload(Assignment.assignee)
                                   .joinedload(TechnicianProfile.user))
        .order_by(WorkRecord.approved_at.desc()).limit(limit)))
