"""The HTTP benchmark's data: a marketplace at size, on PostgreSQL, cached as a template.

Technicians come from bench/matching.py's generator (75% around the metros of
demo/catalog.py, 25% anywhere; skills by popularity; a background check each,
~4% expired). Firms sit in the metros, sized by a log-normal; their
assignments are spread around their metro in every state of the lifecycle
(future work still open, past work done, paid or cancelled), a quarter
requiring the background check, each routed to three technicians of its
metro (the assignee's offer accepted, the others closed). Some technicians have
a credential waiting for review; everyone has notifications.

Everything is written with COPY. The database is built once per schema
revision and generator version, then kept as a PostgreSQL template: a run
works on a copy (CREATE DATABASE ... TEMPLATE), so reruns start in seconds.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from bench import templates  # noqa: E402

GENERATOR_VERSION = 2
TEMPLATE_PREFIX = "bench_http_"
TEMPLATE_MAX_AGE = timedelta(days=7)   # future work must still be in the future
PASSWORD = "bench-password-1"
STATES = {  # share of the assignments in each state
    "draft": 0.04, "published": 0.14, "assigned": 0.12, "in_progress": 0.02,
    "submitted": 0.03, "approved": 0.05, "paid": 0.50, "cancelled": 0.10,
}
DONE_STATES = {"in_progress", "submitted", "approved", "paid"}
OFFERS_PER_ASSIGNMENT = 3
PENDING_SHARE = 0.03          # technicians with a credential waiting for review
ADMINS = 4


@dataclass(frozen=True)
class Size:
    technicians: int
    firms: int
    assignments: int

    @property
    def tag(self) -> str:
        return f"{self.technicians}t_{self.firms}f_{self.assignments}a"


FULL = Size(100_000, 5_000, 200_000)
QUICK = Size(10_000, 500, 20_000)


# --- the cached template (bench/templates.py) -----------------------------------------

def ensure_template(size: Size, rebuild: bool = False, log=print) -> str:
    """The template database for `size`, generated if missing, stale or asked for."""
    return templates.ensure(TEMPLATE_PREFIX, GENERATOR_VERSION, size.tag,
                            lambda url: generate(url, size, log=log), rebuild=rebuild,
                            max_age=TEMPLATE_MAX_AGE, log=log)


copy_of = templates.copy_of
_copy = templates.copy_rows
drop_database = templates.drop_database


# --- generation ---------------------------------------------------------------------------

def generate(url: str, size: Size, seed: int = 11, log=print) -> dict[str, int]:
    import psycopg
    from werkzeug.security import generate_password_hash

    from bench.matching import generate as generate_technicians
    from marketplace.accounts.models import (
        Firm,
        Membership,
        Skill,
        TechnicianProfile,
        TechnicianSkill,
        User,
    )
    from marketplace.core import clock
    from marketplace.demo.catalog import METROS, SKILLS
    from marketplace.engage.models import Counteroffer, Engagement, Offer
    from marketplace.find.match_index import index_rows
    from marketplace.find.models import (
        Assignment,
        AssignmentSkill,
        FirmBlock,
        MatchIndexRow,
    )
    from marketplace.notifications.models import Notification
    from marketplace.verify.models import (
        Credential,
        CredentialType,
        RequirementItem,
        RequirementSet,
    )

    rng = np.random.default_rng(seed)
    now = clock.now().replace(microsecond=0)
    created = now - timedelta(days=400)
    password_hash = generate_password_hash(PASSWORD)
    counts: dict[str, int] = {}
    n_tech, n_firms, n_work = size.technicians, size.firms, size.assignments

    t0 = time.perf_counter()
    data = generate_technicians(n_tech, rng)
    lat_t, lon_t = data["lat"], data["lon"]
    metro_lat = np.array([m[3] for m in METROS])
    metro_lon = np.array([m[4] for m in METROS])
    weights = np.array([m[6] for m in METROS], float)
    weights /= weights.sum()
    # Each technician's metro (nearest centre, if within 80 km): whom a firm offers work to.
    d2 = ((lat_t[:, None] - metro_lat[None, :]) * 111.2) ** 2 + \
        ((lon_t[:, None] - metro_lon[None, :]) * 111.2 * np.cos(np.radians(metro_lat))) ** 2
    nearest = d2.argmin(axis=1)
    local = np.sqrt(d2[np.arange(n_tech), nearest]) < 80
    by_metro = [np.nonzero(local & (nearest == m))[0] + 1 for m in range(len(METROS))]

    # ids: admins 1..A, technicians' users follow, then two users per firm.
    tech_user0 = ADMINS
    firm_user0 = ADMINS + n_tech
    firm_metro = rng.choice(len(METROS), n_firms, p=weights)
    firm_weight = rng.lognormal(0, 1.0, n_firms)

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        counts["skills"] = _copy(cur, Skill, ["id", "slug", "name", "category"],
                                 ((i + 1, s[0], s[1], s[2]) for i, s in enumerate(SKILLS)))
        users = [(i, f"admin{i}@bench.example", f"Admin {i}", password_hash, "admin", True, 1,
                  created) for i in range(1, ADMINS + 1)]
        users += [(tech_user0 + t, f"tech{t}@bench.example", f"Tech {t}", password_hash,
                   "technician", True, 1, created) for t in range(1, n_tech + 1)]
        for f in range(1, n_firms + 1):
            users.append((firm_user0 + 2 * f - 1, f"owner{f}@bench.example", f"Owner {f}",
                          password_hash, "firm", True, 1, created))
            users.append((firm_user0 + 2 * f, f"dispatch{f}@bench.example", f"Dispatcher {f}",
                          password_hash, "firm", True, 1, created))
        counts["users"] = _copy(cur, User, ["id", "email", "name", "password_hash", "kind",
                                            "is_enabled", "session_version", "created_at"],
                                users)
        del users
        counts["firms"] = _copy(cur, Firm, ["id", "name", "slug", "city", "state", "timezone",
                                            "verification_status", "created_at"],
                                ((f, f"Firm {f}", f"firm-{f}", METROS[m][0], METROS[m][1],
                                  METROS[m][5], "verified", created)
                                 for f, m in enumerate(firm_metro.tolist(), 1)))
        counts["memberships"] = _copy(
            cur, Membership, ["id", "user_id", "firm_id", "role", "budget_limit_cents",
                              "created_at"],
            ((2 * f - 1 + k, firm_user0 + 2 * f - 1 + k, f, ("owner", "dispatcher")[k],
              (None, 500_000)[k], created) for f in range(1, n_firms + 1) for k in (0, 1)))
        counts["technicians"] = _copy(
            cur, TechnicianProfile,
            ["id", "user_id", "headline", "bio", "timezone", "lat", "lon", "travel_radius_km",
             "hourly_rate_cents", "currency", "availability", "status", "created_at",
             "updated_at"],
            ((t, tech_user0 + t, "Field technician", "", "America/Chicago",
              float(lat_t[t - 1]), float(lon_t[t - 1]), int(data["travel"][t - 1]), 5000,
              "USD", "{}", "active", created, created) for t in range(1, n_tech + 1)))

        skill_rows, index = [], []
        for t in range(1, n_tech + 1):
            skills = [(int(s) + 1, int(lvl))
                      for s, lvl in zip(data["skills"][t - 1], data["levels"][t - 1])]
            skill_rows.extend((t, sid, lvl) for sid, lvl in skills)
            index.extend(index_rows(t, float(lat_t[t - 1]), float(lon_t[t - 1]),
                                    int(data["travel"][t - 1]), skills))
        counts["technician_skills"] = _copy(
            cur, TechnicianSkill, ["id", "technician_id", "skill_id", "level"],
            ((i, *row) for i, row in enumerate(skill_rows, 1)))
        cols = ["skill_id", "cell", "technician_id", "level", "lat", "lon", "travel_radius_km",
                "x", "y", "z", "cos_travel", "skills"]
        counts["match_index"] = _copy(cur, MatchIndexRow, cols,
                                      ([r[c] for c in cols] for r in index))
        del skill_rows, index
        log(f"  technicians, skills and match index: {time.perf_counter() - t0:.0f} s")

        # Credentials: a background check each (the requirement), one more, some pending.
        kinds = [("Background check", "background_check"), ("General liability insurance",
                 "insurance"), ("OSHA 10", "certification"), ("Low-voltage licence", "licence"),
                 ("Drug test", "drug_test")]
        _copy(cur, CredentialType, ["id", "name", "kind", "description", "requires_document",
                                    "expires", "is_active", "created_at"],
              ((i, name, kind, "", False, True, True, created)
               for i, (name, kind) in enumerate(kinds, 1)))
        _copy(cur, RequirementSet, ["id", "name", "description", "created_at"],
              [(1, "Background checked", "", created)])
        _copy(cur, RequirementItem, ["id", "requirement_set_id", "credential_type_id"],
              [(1, 1, 1)])
        other_type = rng.integers(2, len(kinds) + 1, n_tech)
        pending = rng.random(n_tech) < PENDING_SHARE
        submitted = now - timedelta(days=30)

        def credentials():
            cid = 0
            for t in range(1, n_tech + 1):
                cid += 1
                yield (cid, t, 1, "approved", date(2024, 1, 1) if data["expired"][t - 1]
                       else date(2031, 1, 1), submitted, submitted)
                cid += 1
                yield (cid, t, int(other_type[t - 1]), "approved", date(2031, 6, 1),
                       submitted, submitted)
                if pending[t - 1]:
                    cid += 1
                    at = now - timedelta(minutes=int(rng.integers(5, 60 * 24 * 14)))
                    yield (cid, t, int(other_type[t - 1]), "pending", date(2032, 6, 1), at, at)
        counts["credentials"] = _copy(cur, Credential, ["id", "technician_id",
                                                        "credential_type_id", "status",
                                                        "expires_on", "submitted_at",
                                                        "updated_at"], credentials())

        # Assignments in every state, around their firm's metro.
        t0 = time.perf_counter()
        firm_of = rng.choice(n_firms, n_work, p=firm_weight / firm_weight.sum()) + 1
        metro_of = firm_metro[firm_of - 1]
        dist = rng.exponential(15.0, n_work)
        angle = rng.uniform(0, 2 * math.pi, n_work)
        lat_a = metro_lat[metro_of] + dist * np.cos(angle) / 111.2
        lon_a = metro_lon[metro_of] + dist * np.sin(angle) / (
            111.2 * np.cos(np.radians(metro_lat[metro_of])))
        names = list(STATES)
        state_of = rng.choice(len(names), n_work, p=np.array(list(STATES.values()))).tolist()
        pop = data["pop"]
        needs_check = (rng.random(n_work) < 0.25).tolist()
        # Drawn for all rows at once (a draw per row costs more than the rest of the loop).
        future = (rng.integers(10, 120, n_work) * 24 + rng.integers(0, 10, n_work)).tolist()
        past = rng.integers(2, 365, n_work).tolist()
        budgets = (rng.integers(100, 800, n_work) * 100).tolist()
        skill_pick = (rng.choice(len(SKILLS), (n_work, 2), p=pop) + 1).tolist()
        skill_level = rng.integers(1, 3, (n_work, 2)).tolist()
        two_skills = (rng.random(n_work) >= 0.6).tolist()
        offer_pick = rng.random((n_work, OFFERS_PER_ASSIGNMENT)).tolist()
        pools = [p.tolist() for p in by_metro]
        lat_l, lon_l, metro_l, firm_l = lat_a.tolist(), lon_a.tolist(), metro_of.tolist(), \
            firm_of.tolist()
        assignments, askills, engagements, offers, counters = [], [], [], [], []
        offer_id = 0
        for i in range(n_work):
            aid, firm = i + 1, firm_l[i]
            state = names[state_of[i]]
            metro = METROS[metro_l[i]]
            if state in ("draft", "published", "assigned"):
                starts = now + timedelta(hours=future[i])
            elif state == "in_progress":
                starts = now - timedelta(hours=1)
            elif state == "submitted":
                starts = now - timedelta(days=1)
            else:
                starts = now - timedelta(days=past[i])
            pool = pools[metro_l[i]]
            chosen = list(dict.fromkeys(pool[int(r * len(pool))] for r in offer_pick[i])) \
                if state != "draft" and pool else []
            assignee = chosen[0] if state in DONE_STATES | {"assigned"} and chosen else None
            budget = budgets[i]
            assignments.append((
                aid, firm, firm_user0 + 2 * firm, f"Job {aid}", "",
                1 if needs_check[i] else None, f"{aid} Main St, {metro[0]}, {metro[1]}",
                lat_l[i], lon_l[i], metro[5], 50, "window", starts,
                starts + timedelta(hours=2), "fixed", budget, budget, "USD", 30, "[]", state,
                assignee, 1, starts - timedelta(days=20), starts - timedelta(days=20),
                None if state == "draft" else starts - timedelta(days=19)))
            for sid, level in dict(zip(skill_pick[i][:1 + two_skills[i]],
                                       skill_level[i])).items():
                askills.append((aid, sid, level))
            if state == "draft":
                continue
            engagements.append((aid, "first_to_accept" if i % 3 else "apply_and_choose",
                                starts - timedelta(days=19)))
            for j, tech in enumerate(chosen):
                offer_id += 1
                if state == "published":
                    status = "countered" if j == 0 and i % 5 == 0 else \
                        ("open", "declined", "applied")[j % 3]
                elif state == "cancelled":
                    status = "closed"
                else:
                    status = "accepted" if tech == assignee else "closed"
                offers.append((offer_id, aid, tech, status, budget,
                               min(starts, now + timedelta(days=3)),
                               "Too far" if status == "declined" else None,
                               starts - timedelta(days=19)))
                if status == "countered":
                    counters.append((offer_id, "technician", budget + 5000, "pending",
                                     starts - timedelta(days=18)))
        counts["assignments"] = _copy(
            cur, Assignment,
            ["id", "firm_id", "created_by_id", "title", "description", "requirement_set_id",
             "address", "lat", "lon", "timezone", "radius_km", "schedule_kind", "starts_at",
             "ends_at", "pricing", "rate_cents", "budget_cents", "currency",
             "payment_terms_days", "checklist", "status", "assignee_id", "version",
             "created_at", "updated_at", "published_at"], assignments)
        counts["assignment_skills"] = _copy(
            cur, AssignmentSkill, ["id", "assignment_id", "skill_id", "min_level"],
            ((i, *row) for i, row in enumerate(askills, 1)))
        counts["engagements"] = _copy(cur, Engagement, ["assignment_id", "mode", "created_at"],
                                      engagements)
        counts["offers"] = _copy(cur, Offer, ["id", "assignment_id", "technician_id", "status",
                                              "price_cents", "expires_at", "decline_reason",
                                              "created_at"], offers)
        counts["counteroffers"] = _copy(
            cur, Counteroffer, ["id", "offer_id", "proposed_by", "price_cents", "status",
                                "created_at"], ((i, *row) for i, row in enumerate(counters, 1)))
        del assignments, askills, engagements, offers, counters
        # A few blocks: 1% of the technicians blocked by one firm of their metro.
        blocked = rng.choice(n_tech, n_tech // 100, replace=False) + 1
        counts["firm_blocks"] = _copy(cur, FirmBlock, ["id", "firm_id", "technician_id",
                                                       "reason", "created_at"],
                                      ((i, int(rng.integers(1, n_firms + 1)), int(t), "", created)
                                       for i, t in enumerate(blocked, 1)))
        log(f"  assignments, offers: {time.perf_counter() - t0:.0f} s")

        # Notifications: three per technician (one unread), five per firm user.
        def notifications():
            nid = 0
            for uid in range(tech_user0 + 1, firm_user0 + 2 * n_firms + 1):
                for j in range(3 if uid <= firm_user0 else 5):
                    nid += 1
                    at = now - timedelta(hours=nid % 500)
                    yield (nid, uid, "offer.received", f"Notice {nid}", "/offers",
                           at, None if j == 0 else at)
        counts["notifications"] = _copy(cur, Notification, ["id", "user_id", "kind", "title",
                                                            "link", "created_at", "read_at"],
                                        notifications())
        for table in ("users", "firms", "memberships", "technicians", "technician_skills",
                      "credential_types", "requirement_sets", "requirement_items",
                      "credentials", "assignments", "assignment_skills", "offers",
                      "counteroffers", "firm_blocks", "notifications", "skills"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return counts


def bench_users(url: str, k: int) -> dict[str, list[dict]]:
    """Who signs in for the benchmark, chosen from the data the same way every run:
    technicians in the busiest metros holding a live offer, dispatchers of the firms
    with the most open work (each with one of its published assignments), the admins."""
    import psycopg
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        techs = conn.execute("""
            SELECT DISTINCT ON (o.technician_id) o.technician_id, u.id, u.email, o.id
            FROM offers o JOIN technicians t ON t.id = o.technician_id
            JOIN users u ON u.id = t.user_id JOIN assignments a ON a.id = o.assignment_id
            WHERE o.status IN ('open', 'countered') AND a.status = 'published'
            ORDER BY o.technician_id, o.id""").fetchall()
        techs.sort(key=lambda r: hash_of(r[0]))
        firms = conn.execute("""
            SELECT a.firm_id, count(*) AS open, min(a.id) FROM assignments a
            WHERE a.status = 'published' GROUP BY a.firm_id ORDER BY open DESC, a.firm_id
            LIMIT %s""", (k,)).fetchall()
        dispatchers = conn.execute("""
            SELECT m.firm_id, u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.role = 'dispatcher' AND m.firm_id = ANY(%s)""",
                                   ([f for f, _, _ in firms],)).fetchall()
        admins = conn.execute("SELECT id, email FROM users WHERE kind = 'admin' ORDER BY id"
                              ).fetchall()
    first_open = {f: a for f, _, a in firms}
    return {
        "technician": [{"user_id": uid, "email": email, "offer_id": oid}
                       for _, uid, email, oid in techs[:k]],
        "dispatcher": [{"user_id": uid, "email": email, "assignment_id": first_open[fid]}
                       for fid, uid, email in dispatchers],
        "admin": [{"user_id": uid, "email": email} for uid, email in admins],
    }


def hash_of(n: int) -> int:
    """A fixed shuffle of ids (Python's hash of ints is the identity)."""
    return (n * 2654435761) % 2 ** 32


def add_tokens(url: str, users: list[dict]) -> None:
    """A personal API token for each user (raw value kept in the dict as `token`)."""
    import psycopg

    from marketplace.accounts.tokens import TOKEN_PREFIX, hash_token
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    from marketplace.core import clock
    now = clock.now()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for user in users:
            raw = f"{TOKEN_PREFIX}bench{user['user_id']}x{os.urandom(12).hex()}"
            user["token"] = raw
            cur.execute("INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (user["user_id"], "bench", raw[:10], hash_token(raw), now))
        conn.commit()
