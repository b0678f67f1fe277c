"""Builders for rate tests: approved work between a firm and a technician, and
scorecards made directly from events (for arithmetic that needs many jobs)."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.manage import review, visits
from marketplace.manage.geofence import Fix
from tests.manage.helpers import at_site, taken_work


def fix(job):
    return Fix.parse(at_site(job), default_time=clock.now())


def approved_work(*, late_minutes: int = 0, **kw):
    """Work taken, checked in (on time, or `late_minutes` after the start), submitted
    and approved; the clock stands just after the approval."""
    owner, tech, job = taken_work(checklist=[], **kw)
    clock.travel_to(job.starts_at + timedelta(minutes=late_minutes), freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=fix(job))
    clock.advance(timedelta(hours=1))
    visits.check_out(tech.user, job, at=clock.now(), fix=fix(job))
    review.submit(tech.user, job, "done")
    review.approve(owner, job)
    db.session.commit()
    return owner, tech, job
