"""Demo work on site: for each verified firm, a job in progress now, one submitted
yesterday waiting for review, and one approved last week, each with check-ins,
answers, photos and a customer signature. Built through the services, with the
clock moved to when each thing happened."""
from __future__ import annotations

import io
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from sqlalchemy import select

from ..accounts.models import Role
from ..core import clock
from ..core.uploads import Upload
from ..engage import offers as offers_svc
from ..engage.models import Offer, RoutingMode, TargetKind
from ..engage.routing import StagePlan, route_assignment
from ..extensions import db
from ..find import assignments as find_svc
from ..manage import proof, review, visits
from ..manage.geofence import Fix

CHECKLIST = [
    "Sign in with the site contact",
    "[photo x2] Photos of the finished work",
    "[number dBm -90..-20] Signal level at the farthest desk",
    "[choice Pass|Fail] Cable certification result",
    "[signature] Customer sign-off",
    "[text] Notes for the dispatcher (optional)",
]


def _photo(rng: random.Random, label: str) -> bytes:
    image = Image.new("RGB", (640, 480), (rng.randrange(40, 200), rng.randrange(40, 200), 90))
    ImageDraw.Draw(image).text((24, 24), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _signature() -> bytes:
    image = Image.new("RGB", (600, 200), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line([(40, 150), (120, 60), (200, 140), (280, 70), (360, 150), (520, 90)],
              fill=(10, 10, 60), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _job(owner, firm, tech, day, hour, title):
    zone = ZoneInfo(firm.timezone)
    return find_svc.create_assignment(owner, {
        "title": title, "description": "Cabling and certification at a customer site.",
        "address": f"{200 + tech.id} Main St, {firm.city}, {firm.state}",
        "start_date": day.astimezone(zone).date().isoformat(), "start_time": f"{hour:02d}:00",
        "end_time": f"{hour + 2:02d}:00", "pricing": "fixed", "rate": "320",
        "checklist": CHECKLIST})


def _take(rng, owner, job, tech):
    route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    clock.advance(timedelta(minutes=rng.randint(25, 190)))  # the technician answers later
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id,
                                                  Offer.technician_id == tech.id))
    offers_svc.accept_offer(tech.user, offer)


def _work(rng, job, tech, *, finish: bool):
    fix = Fix(job.lat + rng.uniform(-0.0004, 0.0004), job.lon, 12.0, clock.now())
    visits.check_in(tech.user, job, at=clock.now(), fix=fix)
    proof.answer_task(tech.user, job, "t1", {"done": True}, at=clock.now())
    proof.add_proof(tech.user, job, "t2", Upload("rack-before.jpg", _photo(rng, "Before")),
                    at=clock.now(), lat=fix.lat, lon=fix.lon)
    if not finish:
        return
    clock.advance(timedelta(minutes=50))
    proof.add_proof(tech.user, job, "t2", Upload("rack-after.jpg", _photo(rng, "After")),
                    at=clock.now(), lat=fix.lat, lon=fix.lon)
    proof.answer_task(tech.user, job, "t3", {"number": rng.randrange(-70, -40)}, at=clock.now())
    proof.answer_task(tech.user, job, "t4", {"choice": "Pass"}, at=clock.now())
    proof.add_proof(tech.user, job, "t5", Upload("signature.png", _signature()), at=clock.now(),
                    signer_name="Jordan Lee (front desk)")
    clock.advance(timedelta(minutes=40))
    visits.check_out(tech.user, job, at=clock.now(),
                     fix=Fix(fix.lat, fix.lon, 9.0, clock.now()))
    review.submit(tech.user, job, "All ports certified; labels on the patch panel.")


def seed(rng: random.Random, world: dict) -> dict:
    now = clock.now()
    made = {"in_progress": [], "submitted": [], "approved": []}
    try:
        for firm in world.get("firms", []):
            if not firm.is_verified:
                continue
            owner = next(m.user for m in firm.memberships if m.role == Role.OWNER)
            nearby = [t for t in world.get("technicians", []) if t.city == firm.city]
            if len(nearby) < 3:
                continue
            plans = [("approved", timedelta(days=6), "Cabling certification (last week)"),
                     ("submitted", timedelta(days=1), "Conference room rewire"),
                     ("in_progress", timedelta(minutes=40), "Network closet cleanup")]
            for (state, ago, title), tech in zip(plans, nearby[-3:]):
                local = (now - ago).astimezone(ZoneInfo(firm.timezone))
                start = local.replace(hour=min(local.hour, 21), minute=0, second=0,
                                      microsecond=0)
                clock.travel_to(start - timedelta(days=2))
                job = _job(owner, firm, tech, start, start.hour, title)
                _take(rng, owner, job, tech)
                clock.travel_to(start.astimezone(ZoneInfo("UTC")) + timedelta(minutes=5))
                _work(rng, job, tech, finish=state != "in_progress")
                if state == "approved":
                    clock.advance(timedelta(hours=3))
                    review.approve(owner, job)
                made[state].append(job)
                db.session.flush()
    finally:
        clock.reset()
    return {"work": made}

