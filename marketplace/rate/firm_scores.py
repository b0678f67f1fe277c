"""A firm's scorecard for technicians: rating, payment timeliness, cancellations, work
completed on the platform, verified status. Kept up by the lifecycle's moves.

- posted: assignments published for the first time (a backout's re-publish is not new);
- cancelled: cancelled after publishing; late: cancelled with a technician on it less
  than LATE_CANCEL_HOURS before the start;
- completed: approved work; paid: work reaching `paid`, timed from its approval (the
  pay stage moves work to paid; with no pay stage, nothing is counted and the card
  says so);
- rating: revealed ratings of the firm by technicians.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import Firm
from ..core import clock
from ..engage.models import Cancellation
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from ..manage.models import WorkRecord
from .models import Direction, FirmScore, Rating

LATE_CANCEL_HOURS = 24
PAID_WITHIN = timedelta(days=7)


def _add(firm_id: int, **delta: int) -> None:
    table = FirmScore.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).values(firm_id=firm_id)
                       .on_conflict_do_nothing(index_elements=["firm_id"]))
    db.session.execute(update(FirmScore).where(FirmScore.firm_id == firm_id)
                       .values(updated_at=clock.now(),
                               **{k: table.c[k] + v for k, v in delta.items()})
                       .execution_options(synchronize_session=False))


def on_transition(assignment: Assignment, from_state, to_state) -> None:
    """Count the move in the firm's scorecard."""
    now = clock.now()
    if to_state == S.PUBLISHED and from_state == S.DRAFT:
        _add(assignment.firm_id, n_posted=1)
    elif to_state == S.CANCELLED and from_state != S.DRAFT:
        late = (from_state == S.ASSIGNED and
                assignment.starts_at - now < timedelta(hours=LATE_CANCEL_HOURS))
        _add(assignment.firm_id, n_cancelled=1, n_late_cancelled=int(late))
    elif to_state == S.APPROVED:
        _add(assignment.firm_id, n_completed=1)
    elif to_state == S.PAID:
        record = db.session.get(WorkRecord, assignment.id)
        if record is not None and record.approved_at is not None:
            seconds = max(0, int((now - record.approved_at).total_seconds()))
            _add(assignment.firm_id, n_paid=1, paid_seconds=seconds,
                 n_paid_within_week=int(seconds <= PAID_WITHIN.total_seconds()))


def on_rating_revealed(rating: Rating) -> None:
    if rating.direction == Direction.OF_FIRM:
        _add(rating.firm_id, n_rated=1, stars_sum=rating.overall)


@dataclass
class FirmCard:
    firm: Firm
    rating: float | None
    rated: int
    paid: int
    avg_days_to_pay: float | None
    paid_within_week: float | None
    cancel_rate: float | None
    late_cancel_rate: float | None
    completed: int
    verified: bool

    @property
    def stars(self) -> str:
        return "—" if self.rating is None else f"{self.rating:.1f}"


def card_of(firm: Firm, row: FirmScore | None) -> FirmCard:
    row = row or FirmScore(firm_id=firm.id, n_posted=0, n_cancelled=0, n_late_cancelled=0,
                           n_completed=0, n_paid=0, paid_seconds=0, n_paid_within_week=0,
                           n_rated=0, stars_sum=0)
    posted = row.n_posted
    return FirmCard(
        firm=firm,
        rating=(row.stars_sum / row.n_rated) if row.n_rated else None, rated=row.n_rated,
        paid=row.n_paid,
        avg_days_to_pay=(row.paid_seconds / row.n_paid / 86400) if row.n_paid else None,
        paid_within_week=(row.n_paid_within_week / row.n_paid) if row.n_paid else None,
        cancel_rate=(row.n_cancelled / posted) if posted else None,
        late_cancel_rate=(row.n_late_cancelled / posted) if posted else None,
        completed=row.n_completed, verified=firm.is_verified)


def cards_for(firm_ids: set[int]) -> dict[int, FirmCard]:
    """Many firms' cards in two statements (the feed shows one per card)."""
    if not firm_ids:
        return {}
    firms = {f.id: f for f in db.session.scalars(select(Firm).where(Firm.id.in_(firm_ids)))}
    rows = {r.firm_id: r for r in db.session.scalars(
        select(FirmScore).where(FirmScore.firm_id.in_(firm_ids)))}
    return {fid: card_of(firm, rows.get(fid)) for fid, firm in firms.items()}


def recompute_firms() -> int:
    """Rebuild every firm's scorecard from the records (the `paid` instant is the work's
    last update: nothing changes a paid assignment after)."""
    db.session.execute(FirmScore.__table__.delete())
    now = clock.now()
    counts: dict[int, dict[str, int]] = {}

    def bump(firm_id, **delta):
        row = counts.setdefault(firm_id, {})
        for k, v in delta.items():
            row[k] = row.get(k, 0) + int(v)

    for firm_id, n in db.session.execute(
            select(Assignment.firm_id, func.count()).where(Assignment.published_at.is_not(None))
            .group_by(Assignment.firm_id)):
        bump(firm_id, n_posted=n)
    for firm_id, starts_at, created_at, tech in db.session.execute(
            select(Assignment.firm_id, Assignment.starts_at, Cancellation.created_at,
                   Cancellation.technician_id)
            .join(Cancellation, Cancellation.assignment_id == Assignment.id)
            .where(Assignment.published_at.is_not(None))):
        late = tech is not None and starts_at - created_at < timedelta(hours=LATE_CANCEL_HOURS)
        bump(firm_id, n_cancelled=1, n_late_cancelled=late)
    for firm_id, status, approved, updated in db.session.execute(
            select(Assignment.firm_id, Assignment.status, WorkRecord.approved_at,
                   Assignment.updated_at)
            .join(WorkRecord, WorkRecord.assignment_id == Assignment.id)
            .where(WorkRecord.approved_at.is_not(None))):
        bump(firm_id, n_completed=1)
        if status == S.PAID:
            seconds = max(0, int((updated - approved).total_seconds()))
            bump(firm_id, n_paid=1, paid_seconds=seconds,
                 n_paid_within_week=seconds <= PAID_WITHIN.total_seconds())
    for firm_id, n, total in db.session.execute(
            select(Rating.firm_id, func.count(), func.sum(Rating.overall))
            .where(Rating.direction == Direction.OF_FIRM, Rating.revealed_at.is_not(None))
            .group_by(Rating.firm_id)):
        bump(firm_id, n_rated=n, stars_sum=total or 0)
    for firm_id, values in counts.items():
        db.session.add(FirmScore(firm_id=firm_id, updated_at=now, **{
            k: values.get(k, 0) for k in ("n_posted", "n_cancelled", "n_late_cancelled",
                                          "n_completed", "n_paid", "paid_seconds",
                                          "n_paid_within_week", "n_rated", "stars_sum")}))
    db.session.flush()
    return len(counts)
