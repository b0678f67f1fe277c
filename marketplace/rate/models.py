"""Rate's tables: two-way ratings and their reports, the observed events a technician's
scorecard is made of (with disputes), the maintained scorecards of technicians and
firms, the platform means the reliability score shrinks toward, and a firm's own lists
(notes and favourites; blocks are find's `FirmBlock`)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, TechnicianProfile, User
from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db
from ..find.models import Assignment


class Direction(StrEnum):
    OF_TECHNICIAN = "of_technician"   # the firm rates the technician
    OF_FIRM = "of_firm"               # the technician rates the firm


class Rating(db.Model):
    """One side's rating of the other after approved work; sealed until revealed."""
    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("assignment_id", "direction"),
                      Index("ix_ratings_technician_id_direction", "technician_id", "direction"),
                      Index("ix_ratings_firm_id_direction", "firm_id", "direction"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    direction: Mapped[str] = mapped_column(String(20))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    overall: Mapped[int] = mapped_column(Integer)
    # the firm's rating of the technician
    quality: Mapped[int | None] = mapped_column(Integer)
    communication: Mapped[int | None] = mapped_column(Integer)
    professionalism: Mapped[int | None] = mapped_column(Integer)
    would_hire_again: Mapped[bool | None] = mapped_column(Boolean)
    # the technician's rating of the firm
    scope_clarity: Mapped[int | None] = mapped_column(Integer)
    site_readiness: Mapped[int | None] = mapped_column(Integer)
    payment_speed: Mapped[int | None] = mapped_column(Integer)
    site_not_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(String(500), default="")
    private_feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(300))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply: Mapped[str | None] = mapped_column(String(500))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignment: Mapped[Assignment] = relationship()
    firm: Mapped[Firm] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])


class RatingReport(db.Model):
    """Someone asks the platform to look at a public comment."""
    __tablename__ = "rating_reports"
    __table_args__ = (UniqueConstraint("rating_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))   # hidden | kept

    rating: Mapped[Rating] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])


class EventStatus(StrEnum):
    COUNTED = "counted"
    EXCUSED = "excused"     # outside the technician's control (site not ready, reported)
    STRUCK = "struck"       # disputed, and an admin agreed


class RateEvent(db.Model):
    """One observed fact about a technician's work that a scorecard counts, derived from
    the stage that recorded it (manage's work record, engage's backouts, SLA events,
    revealed ratings). Keyed by (assignment, technician, kind): derived again, it is
    updated in place. `growth` is the recency factor (see reliability)."""
    __tablename__ = "rate_events"
    __table_args__ = (UniqueConstraint("assignment_id", "technician_id", "kind"),
                      Index("ix_rate_events_technician_id_occurred_at",
                            "technician_id", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    growth: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=EventStatus.COUNTED.value)

    assignment: Mapped[Assignment] = relationship()


SITE_NOT_READY = "site_not_ready"     # the kind of a firm's dispute of that report


class Dispute(db.Model):
    """A technician contests an event within 14 days, or a firm a technician's "site not
    ready" report (kind ``site_not_ready``); an admin decides."""
    __tablename__ = "rate_disputes"
    __table_args__ = (UniqueConstraint("assignment_id", "technician_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="open")   # open | upheld | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assignment: Mapped[Assignment] = relationship()
    technician: Mapped[TechnicianProfile] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])

    @property
    def by_firm(self) -> bool:
        return self.kind == SITE_NOT_READY


COUNT_KINDS = ("on_time", "late", "no_show", "kept", "backout", "late_backout", "first_time",
               "revisited", "sla_met", "sla_missed", "completed", "rated")
COMPONENTS = ("arrival", "commitment", "completion", "sla", "rating")


class TechnicianScore(db.Model):
    """A technician's scorecard, maintained by every event that changes it.

    `<component>_w` and `<component>_v` are the recency-weighted sums of the counted
    events' weights and weighted values (scaled by each event's growth); `growth` is the
    largest growth seen (the anchor); `n_<kind>` count counted events of each kind."""
    __tablename__ = "technician_scores"

    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), primary_key=True)
    arrival_w: Mapped[float] = mapped_column(Float, default=0.0)
    arrival_v: Mapped[float] = mapped_column(Float, default=0.0)
    commitment_w: Mapped[float] = mapped_column(Float, default=0.0)
    commitment_v: Mapped[float] = mapped_column(Float, default=0.0)
    completion_w: Mapped[float] = mapped_column(Float, default=0.0)
    completion_v: Mapped[float] = mapped_column(Float, default=0.0)
    sla_w: Mapped[float] = mapped_column(Float, default=0.0)
    sla_v: Mapped[float] = mapped_column(Float, default=0.0)
    rating_w: Mapped[float] = mapped_column(Float, default=0.0)
    rating_v: Mapped[float] = mapped_column(Float, default=0.0)
    growth: Mapped[float] = mapped_column(Float, default=1.0)
    n_on_time: Mapped[int] = mapped_column(Integer, default=0)
    n_late: Mapped[int] = mapped_column(Integer, default=0)
    n_no_show: Mapped[int] = mapped_column(Integer, default=0)
    n_kept: Mapped[int] = mapped_column(Integer, default=0)
    n_backout: Mapped[int] = mapped_column(Integer, default=0)
    n_late_backout: Mapped[int] = mapped_column(Integer, default=0)
    n_first_time: Mapped[int] = mapped_column(Integer, default=0)
    n_revisited: Mapped[int] = mapped_column(Integer, default=0)
    n_sla_met: Mapped[int] = mapped_column(Integer, default=0)
    n_sla_missed: Mapped[int] = mapped_column(Integer, default=0)
    n_completed: Mapped[int] = mapped_column(Integer, default=0)
    n_rated: Mapped[int] = mapped_column(Integer, default=0)
    stars_sum: Mapped[int] = mapped_column(Integer, default=0)
    reliability: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class FirmScore(db.Model):
    """A firm's scorecard for technicians, maintained by the lifecycle's transitions."""
    __tablename__ = "firm_scores"

    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), primary_key=True)
    n_posted: Mapped[int] = mapped_column(Integer, default=0)
    n_cancelled: Mapped[int] = mapped_column(Integer, default=0)
    n_late_cancelled: Mapped[int] = mapped_column(Integer, default=0)
    n_completed: Mapped[int] = mapped_column(Integer, default=0)
    n_paid: Mapped[int] = mapped_column(Integer, default=0)
    paid_seconds: Mapped[int] = mapped_column(Integer, default=0)
    n_paid_within_week: Mapped[int] = mapped_column(Integer, default=0)
    n_rated: Mapped[int] = mapped_column(Integer, default=0)
    stars_sum: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PlatformMean(db.Model):
    """The platform's mean of each component, refreshed by the recompute (daily)."""
    __tablename__ = "rate_platform_means"

    component: Mapped[str] = mapped_column(String(12), primary_key=True)
    mean: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TechnicianNote(db.Model):
    """A firm's private note on a technician (only that firm's members read it)."""
    __tablename__ = "technician_notes"
    __table_args__ = (UniqueConstraint("firm_id", "technician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Favourite(db.Model):
    """A technician a firm likes to work with again (a routing target)."""
    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("firm_id", "technician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    technician: Mapped[TechnicianProfile] = relationship()


class ScoreMinimum(db.Model):
    """A requirement set's minimum scores: reliability, average rating × 100, completed
    jobs (kept here, so saving the set's credentials leaves them as they are)."""
    __tablename__ = "requirement_score_minimums"

    requirement_set_id: Mapped[int] = mapped_column(ForeignKey("requirement_sets.id"),
                                                    primary_key=True)
    min_reliability: Mapped[int | None] = mapped_column(Integer)
    min_rating_x100: Mapped[int | None] = mapped_column(Integer)
    min_completed_jobs: Mapped[int | None] = mapped_column(Integer)
