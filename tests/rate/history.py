"""A generated history of work for scorecard tests: records written as the stages that
own them would leave them (work records, backouts, SLA events, ratings), each piece of
work synced the way its lifecycle moves would sync it."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from marketplace.extensions import db
from marketplace.engage.models import Backout
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.find.models import Assignment
from marketplace.manage.models import Arrival, SlaEvent, WorkRecord
from marketplace.rate import events
from marketplace.rate.models import Direction, Rating

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc)


def job(owner, tech, at: datetime, *, sla: bool = False, status=S.APPROVED) -> Assignment:
    a = Assignment(firm_id=owner.firm.id, created_by_id=owner.id, title=f"Job {at:%j}",
                   address="Dallas, TX", lat=32.77, lon=-96.79, timezone="America/Chicago",
                   starts_at=at, ends_at=at + timedelta(hours=2), budget_cents=10000,
                   rate_cents=10000, status=status, assignee_id=tech.id, published_at=at,
                   sla_arrival_minutes=30 if sla else None)
    db.session.add(a)
    db.session.flush()
    return a


def outcome(owner, tech, at: datetime, kind: str, *, revisits: int = 0, stars: int | None = None,
            sla_breach: bool | None = None, site_not_ready: bool = False) -> Assignment:
    """One piece of work ending as `kind`: on_time | late (approved), no_show, backout,
    late_backout; everything it records happens at `at` (so hand-computed figures need
    no recency factor)."""
    a = job(owner, tech, at, sla=sla_breach is not None,
            status=S.APPROVED if kind in ("on_time", "late") else S.PUBLISHED)
    if kind in ("on_time", "late"):
        db.session.add(WorkRecord(assignment_id=a.id, technician_id=tech.id,
                                  arrival=Arrival.ON_TIME if kind == "on_time" else Arrival.LATE,
                                  first_checkin_at=at, revisits=revisits,
                                  approved_at=at))
        if sla_breach:
            db.session.add(SlaEvent(assignment_id=a.id, kind="arrival", state="breach", at=at))
        if stars is not None:
            db.session.add(Rating(assignment_id=a.id, direction=Direction.OF_TECHNICIAN,
                                  firm_id=a.firm_id, technician_id=tech.id, author_id=owner.id,
                                  overall=stars, created_at=at, updated_at=at,
                                  revealed_at=at))
        if site_not_ready:
            db.session.add(Rating(assignment_id=a.id, direction=Direction.OF_FIRM,
                                  firm_id=a.firm_id, technician_id=tech.id,
                                  author_id=tech.user_id, overall=3, site_not_ready=True,
                                  created_at=at, updated_at=at))
    elif kind == "no_show":
        a.assignee_id = None
        db.session.add(WorkRecord(assignment_id=a.id, technician_id=tech.id,
                                  arrival=Arrival.NO_SHOW, no_show_at=at))
    else:
        a.assignee_id = None
        db.session.add(Backout(assignment_id=a.id, technician_id=tech.id, reason="sick",
                               hours_before_start=2 if kind == "late_backout" else 48,
                               created_at=at))
    db.session.flush()
    events.sync_assignment(a.id)
    return a


def random_history(owner, techs, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    kinds = ["on_time"] * 6 + ["late", "no_show", "backout", "late_backout"]
    for i in range(n):
        tech = rng.choice(techs)
        at = T0 + timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23))
        kind = rng.choice(kinds)
        outcome(owner, tech, at, kind, revisits=int(rng.random() < 0.2),
                stars=rng.choice([None, 3, 4, 5, 5]),
                sla_breach=rng.choice([None, False, True]),
                site_not_ready=rng.random() < 0.05)
