"""Builders for manage tests: work a technician has taken, at a Dallas site."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.core import clock
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.engage.routing import StagePlan
from marketplace.extensions import db
from tests import factories
from tests.find.helpers import DALLAS, START, make_assignment, tech_at

TASKS = [
    {"key": "ground", "kind": "confirm", "label": "Rack grounded", "required": True},
    {"key": "photos", "kind": "photo", "label": "Photos of the rack", "required": True,
     "min_count": 2},
    {"key": "level", "kind": "number", "label": "Signal level", "required": True,
     "unit": "dBm", "min": -90.0, "max": -20.0},
    {"key": "result", "kind": "choice", "label": "Certification", "required": True,
     "choices": ["Pass", "Fail"]},
    {"key": "sign", "kind": "signature", "label": "Customer sign-off", "required": True},
    {"key": "notes", "kind": "text", "label": "Notes", "required": False},
]


def taken_work(*, checklist=None, starts_at=START, hours=2, pricing_kw=None, tz=None,
               lat=DALLAS[0], lon=DALLAS[1]):
    """A firm owner, a technician and an assignment the technician accepted (3 days ahead)."""
    clock.travel_to(starts_at - timedelta(days=3))
    owner = factories.firm_user()
    tech = tech_at(lat, lon)
    job = make_assignment(owner, lat=lat, lon=lon, starts_at=starts_at, hours=hours,
                          checklist=checklist if checklist is not None else TASKS)
    for name, value in (pricing_kw or {}).items():
        setattr(job, name, value)
    if tz:
        job.timezone = tz
    db.session.commit()
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    offers.accept_offer(tech.user, offer)
    db.session.commit()
    return owner, tech, job


def at_site(job, accuracy=10.0, north_m=0.0):
    """A fresh fix `north_m` metres north of the site."""
    return {"lat": job.lat + north_m / 111_195.0, "lon": job.lon, "accuracy": accuracy,
            "taken_at": clock.now().isoformat()}
