"""Demo accounts: five firms in five cities, their teams, 200 technicians, an admin."""
from __future__ import annotations

import math
import random

from werkzeug.security import generate_password_hash

from ..accounts.models import (
    AccountKind,
    Firm,
    FirmVerification,
    Membership,
    Role,
    Skill,
    SkillLevel,
    TechnicianProfile,
    TechnicianSkill,
    TechnicianStatus,
    User,
)
from ..accounts.services import default_availability
from ..core import audit
from ..core.actions import Action
from ..extensions import db
from .catalog import METROS, SKILLS

DEMO_PASSWORD = "demo-password-1"
# tech001's skills: what the Dallas firm's everyday jobs ask for (demo/find.py JOBS).
FIRST_PICK_SKILLS = ("cat6-termination", "desktop-support", "wifi-install", "pos-install",
                     "server-rack")

DEMO_FIRMS = [
    # name, slug, industry, metro city, verified
    ("Northstar Network Services", "northstar", "it", "Dallas", True),
    ("Lakeshore Low Voltage", "lakeshore", "low_voltage", "Chicago", True),
    ("Peachtree Retail Installs", "peachtree", "retail", "Atlanta", True),
    ("Front Range Telecom", "frontrange", "telecom", "Denver", False),
    ("Cascade Facilities Group", "cascade", "facilities", "Seattle", True),
]
FIRST = ["Alex", "Jordan", "Sam", "Taylor", "Chris", "Morgan", "Jamie", "Casey", "Riley", "Drew",
         "Avery", "Cameron", "Devin", "Elena", "Marcus", "Priya", "Luis", "Aisha", "Tom", "Grace",
         "Omar", "Hannah", "Victor", "Mei", "Andre", "Sofia", "Ravi", "Keisha", "Ben", "Nina"]
LAST = ["Nguyen", "Garcia", "Smith", "Johnson", "Patel", "Brown", "Martinez", "Davis", "Lopez",
        "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Lee", "Harris", "Clark", "Lewis",
        "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Hill", "Rivera"]
HEADLINES = ["Low-voltage tech, Cat6 and fiber", "Desktop and POS support", "AV and signage installer",
             "Security systems specialist", "Network and Wi-Fi technician",
             "Facilities handyman, licensed", "Telecom field tech", "Smart hands, data centers"]


def _metro(city: str):
    return next(m for m in METROS if m[0] == city)


def seed(rng: random.Random, world: dict) -> dict:
    password_hash = generate_password_hash(DEMO_PASSWORD)
    skills = [Skill(slug=s, name=n, category=c) for s, n, c, _ in SKILLS]
    db.session.add_all(skills)
    weights = [w for *_, w in SKILLS]

    admin = User(email="admin@onsite.example", name="Dana Admin", kind=AccountKind.ADMIN,
                 password_hash=password_hash)
    db.session.add(admin)

    firms = []
    for name, slug, industry, city, verified in DEMO_FIRMS:
        metro = _metro(city)
        firm = Firm(name=name, slug=slug, industry=industry, city=city, state=metro[1],
                    postal_code=metro[2], timezone=metro[5],
                    legal_name=f"{name} LLC", ein=f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
                    address_line=f"{rng.randint(100, 9999)} Main St",
                    verification_status=FirmVerification.VERIFIED if verified
                    else FirmVerification.PENDING)
        db.session.add(firm)
        for role, first in ((Role.OWNER, "owner"), (Role.MANAGER, "manager"),
                            (Role.DISPATCHER, "dispatch")):
            user = User(email=f"{first}@{slug}.example", kind=AccountKind.FIRM,
                        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", password_hash=password_hash)
            db.session.add(Membership(user=user, firm=firm, role=role,
                                      budget_limit_cents=150_000 if role == Role.DISPATCHER else None))
        firms.append(firm)

    home_metros = [_metro(c) for *_, c, _ in DEMO_FIRMS]
    by_slug = {s.slug: s for s in skills}
    technicians = []
    for i in range(1, 201):
        # tech001 in Dallas, tech002 in Chicago, ... in the order of DEMO_FIRMS.
        metro = home_metros[(i - 1) % len(home_metros)] if i <= 170 else rng.choice(METROS)
        lat, lon = _scatter(rng, metro[3], metro[4], 35)
        user = User(email=f"tech{i:03d}@onsite.example", kind=AccountKind.TECHNICIAN,
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", password_hash=password_hash)
        tech = TechnicianProfile(
            user=user, headline=rng.choice(HEADLINES), postal_code=metro[2], city=metro[0],
            state=metro[1], lat=lat, lon=lon, timezone=metro[5],
            travel_radius_km=rng.choice([25, 40, 60, 80, 120]),
            hourly_rate_cents=rng.randrange(3500, 9500, 250), availability=default_availability(),
            status=TechnicianStatus.ACTIVE)
        picks = set()
        while len(picks) < rng.randint(2, 6):
            picks.add(rng.choices(range(len(skills)), weights=weights)[0])
        held = {skills[index]: rng.choice(list(SkillLevel)).value for index in picks}
        if i == 1:
            # The first login anyone tries sees the Dallas firm's work: near downtown,
            # travelling far enough, with the skills its everyday jobs ask for.
            tech.lat, tech.lon, tech.travel_radius_km = metro[3] + 0.02, metro[4] - 0.02, 80
            held = {by_slug[slug]: SkillLevel.EXPERT.value for slug in FIRST_PICK_SKILLS}
        for skill, level in held.items():
            tech.skills.append(TechnicianSkill(skill=skill, level=level))
        db.session.add(tech)
        technicians.append(tech)
    db.session.flush()
    audit.record(Action.DEMO_SEEDED, subject_type="system", after={"firms": len(firms),
                                                              "technicians": len(technicians)})
    return {"admin": admin, "firms": firms, "technicians": technicians, "skills": skills}


def _scatter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    """A point within `km` of (lat, lon), denser toward the centre."""
    distance = km * math.sqrt(rng.random()) * 0.9
    bearing = rng.random() * 2 * math.pi
    dlat = distance / 111.0 * math.cos(bearing)
    dlon = distance / (111.0 * math.cos(math.radians(lat))) * math.sin(bearing)
    return round(lat + dlat, 6), round(lon + dlon, 6)
