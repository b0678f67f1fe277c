"""KPI page, operations board and outbox relay benchmark, on PostgreSQL.

    python bench/kpis.py            # one firm with 200k past assignments; 10k emails, 10k webhooks
    python bench/kpis.py --quick    # 40k past assignments; 2k emails, 2k webhooks
    python bench/kpis.py --rebuild  # regenerate the cached data first
    python bench/kpis.py --no-outbox  # the KPI page and the board only

Data: one large firm with two years of past work at 8 metros in 5 timezones
(sites revisited, 85% two-hour windows and 15% flexible ranges in local
business hours) and 4 smaller firms; unfilled and cancelled work, backouts (a
third within 24 hours of the start, a few by the compliance sweep), no-shows,
late arrivals, revisits, several visits, approvals and payments, offers
declined, expired and accepted, SLA targets on 30% of the work with their
warnings and breaches; and this week's work for the board (published, assigned,
in progress with a technician on site, submitted). Written with COPY, built
once per schema revision and generator version and kept as a PostgreSQL
template; each run works on a fresh copy. Times are fixed (END), so the
template never goes stale.

KPIs: `rollups.dashboard(scope)` (all KPIs, 12 weeks, the large firm) as the page
calls it, with the period's end on the hour and off it (each week boundary then
cuts an hour read from the facts), against the floor: the same weekly sums and
counts by hand-written SQL over the raw tables, on a bare psycopg connection, in
the same run (and checked equal); the live computation `kpis.dashboard` is timed
too, for reference. The template's rollups are rebuilt after the COPY. Board:
`board.rows_for` for the large firm at END (one statement that judges the flags too),
with the load average at its end.

Outbox: 10k email rows (half of them notifications) are drained to a local
SMTP server, then 10k webhook deliveries to 5 endpoints of a local HTTP receiver
that checks each signature; both receivers apply a message's effect once per
id and count redeliveries. Three relay worker processes (`relay_worker` below:
the app, `outbox.relay` in a loop until nothing is pending) run in parallel;
once a third of the rows have reached the receiver one worker is killed with
SIGKILL and a spare (started beforehand) takes its place; the killed worker's
leased rows come due after the lease (`OUTBOX_LEASE_SECONDS`, 5 s here) and
are delivered by the others. The rate is rows / seconds from releasing the
started workers until the last row is marked sent, kill and recovery included.
Lost: rows whose id never reached the receiver; duplicated: ids whose effect
was applied twice, or one row's effect applied under two ids.

The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_BENCH)
# Imports come from the repository root (`tests.services`, `marketplace`), not from here.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import templates  # noqa: E402

GENERATOR_VERSION = 3
TEMPLATE_PREFIX = "bench_kpis_"
END = datetime(2030, 6, 3, 15, 0, tzinfo=UTC)     # a Monday, 10:00 in Chicago
HISTORY_DAYS = 728
WEEKS = 12
KPI_TARGET_MS, BOARD_TARGET_MS, RATE_TARGET = 50.0, 30.0, 300.0
# The large firm works at 8 metros in 5 timezones; the others at one or two each.
BIG_METROS = {"New York": 5, "Los Angeles": 4, "Chicago": 4, "Dallas": 3, "Phoenix": 2,
              "Atlanta": 2, "Denver": 2, "Seattle": 2}
OTHER_METROS = [["Chicago", "Minneapolis"], ["Boston"], ["Denver", "Salt Lake City"],
                ["Miami"]]
TAKEN = ("assigned", "in_progress", "submitted", "approved", "paid")
JOBS = ["Network drop install", "POS terminal swap", "Wi-Fi survey", "Rack and stack",
        "Camera install", "Printer repair", "Cabling cleanup", "Site audit"]
STREETS = ["Main St", "Oak Ave", "Commerce Dr", "Market St", "Industrial Pkwy", "Elm St",
           "Park Blvd", "Lake Rd"]
SLA = (240, 30, 24 * 60)        # response, arrival, completion targets in minutes
SLA_WARNING = timedelta(minutes=30)
LATE_MINUTES = 15


@dataclass(frozen=True)
class Size:
    big: int                    # past assignments of the large firm
    others: tuple[int, ...]     # past assignments of each other firm
    technicians: int
    emails: int
    webhooks: int
    kpi_runs: int
    board_runs: int

    @property
    def tag(self) -> str:
        return f"{self.big}b_{sum(self.others)}o_{self.technicians}t"


FULL = Size(200_000, (12_000, 8_000, 5_000, 3_000), 6_000, 10_000, 10_000, 60, 100)
QUICK = Size(40_000, (3_000, 2_000, 1_000, 500), 2_000, 2_000, 2_000, 25, 40)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- the cached template ---------------------------------------------------------------

def ensure_template(size: Size, rebuild: bool = False) -> str:
    """The template for `size` and this schema (its KPI rollups rebuilt after the COPY)."""
    return templates.ensure(
        TEMPLATE_PREFIX, GENERATOR_VERSION, size.tag,
        lambda url: {**generate(url, size), "kpi_facts": templates.rebuild_rollups(url)},
        rebuild=rebuild, log=lambda m: print(m, flush=True))


_copy = templates.copy_rows


# --- generation ------------------------------------------------------------------------

class Rows:
    """The rows of one firm's work, table by table, with ids running across firms."""

    def __init__(self, ids: dict[str, int]):
        self.ids = ids
        self.assignments: list[tuple] = []
        self.records: list[tuple] = []
        self.visits: list[tuple] = []
        self.offers: list[tuple] = []
        self.backouts: list[tuple] = []
        self.sla: list[tuple] = []

    def next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]


A_COLS = ["id", "firm_id", "created_by_id", "title", "address", "lat", "lon", "timezone",
          "schedule_kind", "starts_at", "ends_at", "rate_cents", "budget_cents",
          "sla_response_minutes", "sla_arrival_minutes", "sla_completion_minutes", "status",
          "assignee_id", "agreed_price_cents", "agreed_expenses_cents", "created_at",
          "updated_at", "published_at"]
W_COLS = ["assignment_id", "technician_id", "arrival", "first_checkin_at", "no_show_at",
          "revisits", "submitted_at", "approved_at", "approved_by_id", "created_at"]
V_COLS = ["id", "assignment_id", "technician_id", "number", "checkin_at",
          "checkin_received_at", "checkin_lat", "checkin_lon", "checkin_accuracy_m",
          "checkin_distance_m", "checkin_geofence", "checkout_at", "checkout_received_at",
          "checkout_geofence"]
O_COLS = ["id", "assignment_id", "technician_id", "source", "status", "price_cents",
          "expires_at", "created_at", "responded_at"]
B_COLS = ["id", "assignment_id", "technician_id", "reason", "hours_before_start",
          "offboarded", "created_at"]
S_COLS = ["id", "assignment_id", "kind", "state", "at"]


class Firm:
    """One firm's sites and technicians, and how it writes its work."""

    def __init__(self, firm_id: int, owner_id: int, metros: dict[str, int],
                 pools: dict[str, list[int]], rng: random.Random):
        from marketplace.demo.catalog import METROS
        by_name = {m[0]: m for m in METROS}
        self.id, self.owner_id, self.rng = firm_id, owner_id, rng
        self.metros = [by_name[name] for name in metros]
        self.weights = list(metros.values())
        self.pools = [pools[name] for name in metros]
        self.sites = []
        for city, state, postal, lat, lon, tz, _ in self.metros:
            sites = []
            for s in range(120 if len(self.metros) > 2 else 60):
                d, a = rng.expovariate(1 / 12.0), rng.uniform(0, 2 * math.pi)
                sites.append(((f"{100 + 7 * s} {STREETS[s % len(STREETS)]}, {city}, "
                               f"{state} {postal}"), lat + d * math.cos(a) / 111.2,
                              lon + d * math.sin(a) / (111.2 * math.cos(math.radians(lat))),
                              tz))
            self.sites.append(sites)

    def _place(self):
        m = self.rng.choices(range(len(self.metros)), self.weights)[0]
        return m, self.rng.choice(self.sites[m])

    def _window(self, day: date, tz: str) -> tuple[str, datetime, datetime]:
        rng = self.rng
        zone = ZoneInfo(tz)
        if rng.random() < 0.85:
            hour, minute = rng.randint(7, 16), rng.choice((0, 30))
            start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            return "window", start.astimezone(UTC), (start + timedelta(hours=2)).astimezone(UTC)
        start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=zone)
        length = rng.choice((timedelta(hours=9), timedelta(days=1, hours=9),
                             timedelta(days=2, hours=9)))
        return "flexible", start.astimezone(UTC), (start + length).astimezone(UTC)

    def _offers(self, rows: Rows, aid: int, pool: list[int], published: datetime,
                starts: datetime, price: int, accepted: tuple[int, datetime] | None,
                exclude: set[int]) -> None:
        rng = self.rng
        others = rng.randint(1, 3)
        chosen = set(exclude)
        if accepted:
            chosen.add(accepted[0])
            rows.offers.append((rows.next("offers"), aid, accepted[0], "routed", "accepted",
                                price, published + timedelta(hours=24), published,
                                accepted[1]))
        for _ in range(others):
            tech = rng.choice(pool)
            if tech in chosen:
                continue
            chosen.add(tech)
            status = rng.choices(("declined", "expired", "closed"), (4, 3, 3))[0]
            responded = published + timedelta(minutes=rng.randint(5, 600)) \
                if status == "declined" else None
            rows.offers.append((rows.next("offers"), aid, tech, "routed", status, price,
                                min(starts, published + timedelta(hours=24)), published,
                                responded))

    def _sla_events(self, rows: Rows, aid: int, published: datetime, accepted_at,
                    starts: datetime, ends: datetime, checkin, submitted,
                    stop: datetime = END) -> None:
        """Warnings and breaches as the five-minute sweep records them (by END, or until
        the work was cancelled)."""
        for kind, base, target, met in (("response", published, SLA[0], accepted_at),
                                        ("arrival", starts, SLA[1], checkin),
                                        ("completion", ends, SLA[2], submitted)):
            due = base + timedelta(minutes=target)
            if due - SLA_WARNING >= stop:
                continue
            if met is None or met > due - SLA_WARNING:
                rows.sla.append((rows.next("sla_events"), aid, kind, "warning",
                                 due - SLA_WARNING + timedelta(minutes=self.rng.randint(0, 4))))
            if (met is None or met > due) and due < stop:
                rows.sla.append((rows.next("sla_events"), aid, kind, "breach",
                                 due + timedelta(minutes=self.rng.randint(0, 4))))

    def past(self, n: int) -> list[tuple]:
        """Where and when `n` assignments whose window started before END - 1 day ran."""
        rng = self.rng
        out = []
        for _ in range(n):
            m, (address, lat, lon, tz) = self._place()
            while True:
                day = (END - timedelta(days=rng.randint(1, HISTORY_DAYS))).astimezone(
                    ZoneInfo(tz)).date()
                kind, starts, ends = self._window(day, tz)
                if starts < END - timedelta(days=1):
                    break
            out.append((starts, self.id, m, address, lat, lon, tz, kind, ends))
        return out

    def current(self, per_day: int) -> list[tuple]:
        """This week's work around END, in every state the board shows."""
        out = []
        for offset in range(-1, 8):
            for _ in range(per_day):
                m, (address, lat, lon, tz) = self._place()
                day = (END + timedelta(days=offset)).astimezone(ZoneInfo(tz)).date()
                kind, starts, ends = self._window(day, tz)
                out.append((starts, self.id, m, address, lat, lon, tz, kind, ends))
        return out

    def job(self, rows: Rows, m: int, address: str, lat: float, lon: float, tz: str,
             kind: str, starts: datetime, ends: datetime) -> None:
        rng = self.rng
        pool = self.pools[m]
        aid = rows.next("assignments")
        lead = timedelta(hours=min(24 * 20, max(1.0, rng.lognormvariate(math.log(60), 0.9))))
        published = starts - lead
        price = rng.choice((15000, 22500, 30000, 45000, 60000))
        sla = rng.random() < 0.3
        targets = SLA if sla else (None, None, None)
        title = f"{rng.choice(JOBS)} #{aid}"
        base = (aid, self.id, self.owner_id, title, address, lat, lon, tz, kind, starts, ends,
                price, price, *targets)

        def assignment(status, assignee=None):
            agreed = (price, 0) if assignee else (None, None)
            stamp = published - timedelta(minutes=10)
            rows.assignments.append((*base, status, assignee, *agreed, stamp, stamp, published))

        if published >= END:     # this week's work is published by now
            published = END - timedelta(hours=rng.uniform(1, 96))
        # Unfilled: cancelled if its start passed, still published otherwise.
        if rng.random() < (0.04 if starts < END else 0.22):
            assignment("cancelled" if starts < END else "published")
            self._offers(rows, aid, pool, published, starts, price, None, set())
            if sla:     # its clocks stop when it is cancelled at the start
                self._sla_events(rows, aid, published, None, starts, ends, None, None,
                                 min(starts, END))
            return
        tech = rng.choice(pool)
        fill = timedelta(minutes=min(rng.expovariate(1 / 75), max(
            5.0, (starts - published).total_seconds() / 60 - 10)))
        accepted_at = published + fill
        backed_out: set[int] = set()
        if rng.random() < 0.07:       # someone took it first, then gave it back
            quitter = rng.choice(pool)
            if quitter != tech:
                backed_out.add(quitter)
                late = rng.random() < 0.35
                hours = rng.randint(0, 23) if late else rng.randint(24, 200)
                at = max(published + timedelta(minutes=5), starts - timedelta(hours=hours))
                hours = max(0, int((starts - at).total_seconds() // 3600))
                rows.backouts.append((rows.next("backouts"), aid, quitter,
                                      "Schedule conflict", hours, rng.random() < 0.04, at))
                rows.offers.append((rows.next("offers"), aid, quitter, "routed", "closed",
                                    price, published + timedelta(hours=24), published,
                                    published + fill / 2))
                accepted_at = min(max(accepted_at, at + timedelta(minutes=30)),
                                  max(at, starts - timedelta(minutes=5)))
        if accepted_at >= END:
            assignment("published")
            self._offers(rows, aid, pool, published, starts, price, None, backed_out)
            return
        self._offers(rows, aid, pool, published, starts, price, (tech, accepted_at),
                     backed_out)
        checkin = submitted = None
        stop = END
        late_by = timedelta(minutes=LATE_MINUTES)
        roll = rng.random()
        if ends < END and roll < 0.015:                     # no-show
            rows.records.append((aid, tech, "no_show", None, ends, 0, None, None, None, ends))
            assignment("cancelled")
            stop = ends + timedelta(hours=1)
        elif starts >= END or (starts + late_by >= END - timedelta(minutes=30)
                               and roll < 0.4):
            assignment("assigned", tech)                    # not checked in yet
        elif roll < 0.045 and starts < END - timedelta(hours=3) and starts > END - \
                timedelta(days=2):
            assignment("assigned", tech)                    # late, no check-in yet
        else:
            on_time = rng.random() < 0.89
            delay = rng.randint(-30, LATE_MINUTES - 1) if on_time else rng.randint(
                LATE_MINUTES + 1, 95)
            checkin = starts + timedelta(minutes=delay)
            if kind == "flexible" and not on_time:
                checkin = starts + timedelta(minutes=rng.randint(0, 240))
                on_time = True
            checkin = min(checkin, END - timedelta(minutes=5))
            arrival = "on_time" if on_time else "late"
            revisits = rng.choices((0, 1, 2), (92, 6.5, 1.5))[0]
            at, status, visit_n = checkin, None, 0
            for number in range(1, revisits + 2):
                minutes = min(600, max(10, rng.lognormvariate(math.log(85), 0.5)))
                out = at + timedelta(minutes=minutes)
                inside = rng.random() < 0.93
                visit_n = number
                rows.visits.append((
                    rows.next("visits"), aid, tech, number, at, at, lat, lon, 12.0,
                    20 if inside else 400, "inside" if inside else "outside",
                    out if out < END else None, out if out < END else None,
                    ("inside" if inside else "outside") if out < END else None))
                if out >= END:
                    status = "in_progress"
                    break
                submitted = out + timedelta(minutes=5)
                at = submitted + timedelta(days=rng.randint(1, 4))
                if at >= END:
                    status = "submitted"
                    break
            revisits = visit_n - 1
            approved = None
            if status is None:
                approved = submitted + timedelta(hours=rng.uniform(1, 72))
                if approved >= END:
                    status, approved = "submitted", None
                else:
                    status = "approved" if approved > END - timedelta(days=21) else "paid"
            if status == "in_progress":
                submitted = None
            rows.records.append((aid, tech, arrival, checkin, None, revisits, submitted,
                                 approved, self.owner_id if approved else None, checkin))
            assignment(status, tech)
        if sla:
            self._sla_events(rows, aid, published, accepted_at, starts, ends, checkin,
                             submitted, stop)


def generate(url: str, size: Size, seed: int = 17) -> dict[str, int]:
    import psycopg

    from marketplace.accounts.models import Firm as FirmModel
    from marketplace.accounts.models import Membership, TechnicianProfile, User
    from marketplace.demo.catalog import METROS
    from marketplace.engage.models import Backout, Offer
    from marketplace.find.models import Assignment
    from marketplace.manage.models import ManageSettings, SlaEvent, Visit, WorkRecord

    rng = random.Random(seed)
    created = END - timedelta(days=HISTORY_DAYS + 60)
    counts: dict[str, int] = {}
    metro_names = sorted(set(BIG_METROS) | {n for names in OTHER_METROS for n in names})
    by_name = {m[0]: m for m in METROS}
    firms = [BIG_METROS] + [{n: 1 for n in names} for names in OTHER_METROS]
    n_firms = len(firms)
    # users: owners 1..F, then one per technician
    tech_user0 = n_firms
    pools = {name: [] for name in metro_names}
    tech_metro = []
    for t in range(1, size.technicians + 1):
        name = metro_names[t % len(metro_names)] if t > len(metro_names) else metro_names[t - 1]
        pools[name].append(t)
        tech_metro.append(name)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        users = [(f, f"owner{f}@kpis.bench", f"Owner {f}", "x", "firm", True, 1, created)
                 for f in range(1, n_firms + 1)]
        users += [(tech_user0 + t, f"tech{t}@kpis.bench", f"Tech {t}", "x", "technician", True,
                   1, created) for t in range(1, size.technicians + 1)]
        counts["users"] = _copy(cur, User, ["id", "email", "name", "password_hash", "kind",
                                            "is_enabled", "session_version", "created_at"],
                                users)
        counts["firms"] = _copy(cur, FirmModel, ["id", "name", "slug", "city", "state",
                                                 "timezone", "verification_status",
                                                 "created_at"],
                                [(f, f"Firm {f}", f"kpis-firm-{f}",
                                  by_name[next(iter(m))][0], by_name[next(iter(m))][1],
                                  "America/Chicago" if f == 1 else by_name[next(iter(m))][5],
                                  "verified", created)
                                 for f, m in enumerate(firms, 1)])
        _copy(cur, Membership, ["id", "user_id", "firm_id", "role", "created_at"],
              [(f, f, f, "owner", created) for f in range(1, n_firms + 1)])
        # The large firm has its own arrival rules; the others use the defaults.
        _copy(cur, ManageSettings, ["firm_id", "late_minutes"], [(1, LATE_MINUTES)])
        counts["technicians"] = _copy(
            cur, TechnicianProfile, ["id", "user_id", "timezone", "lat", "lon", "status",
                                     "created_at", "updated_at"],
            ((t, tech_user0 + t, by_name[tech_metro[t - 1]][5], by_name[tech_metro[t - 1]][3],
              by_name[tech_metro[t - 1]][4], "active", created, created)
             for t in range(1, size.technicians + 1)))
        # Ids grow with time, as they do in production: every firm's past work in the
        # order it ran, then this week's; written in slices.
        firm_of = {f: Firm(f, f, metros, pools, rng) for f, metros in enumerate(firms, 1)}
        past = sorted((job for f, n in zip(firm_of, (size.big, *size.others))
                       for job in firm_of[f].past(n)), key=lambda job: job[0])
        current = sorted((job for f, n in zip(firm_of, (size.big, *size.others))
                          for job in firm_of[f].current(max(12, n // 700))),
                         key=lambda job: job[0])
        ids = {k: 0 for k in ("assignments", "visits", "offers", "backouts", "sla_events")}
        jobs = past + current
        for lo in range(0, len(jobs), 25_000):
            rows = Rows(ids)
            for starts, f, m, address, lat, lon, tz, kind, ends in jobs[lo:lo + 25_000]:
                firm_of[f].job(rows, m, address, lat, lon, tz, kind, starts, ends)
            for model, cols, data, key in (
                    (Assignment, A_COLS, rows.assignments, "assignments"),
                    (WorkRecord, W_COLS, rows.records, "work_records"),
                    (Visit, V_COLS, rows.visits, "visits"),
                    (Offer, O_COLS, rows.offers, "offers"),
                    (Backout, B_COLS, rows.backouts, "backouts"),
                    (SlaEvent, S_COLS, rows.sla, "sla_events")):
                counts[key] = counts.get(key, 0) + _copy(cur, model, cols, data)
        print(f"  {len(jobs)} assignments and their events ({time.perf_counter() - t0:.0f} s)",
              flush=True)
        for table in ("users", "firms", "memberships", "technicians", "assignments", "visits",
                      "offers", "backouts", "sla_events"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return counts


# --- KPIs and the board -------------------------------------------------------------------

def _week(column: str) -> str:
    return f"floor(extract(epoch FROM %(end)s - {column}) / 604800)::int"


_IN_PERIOD = "a.firm_id = %(firm)s AND {at} > %(start)s AND {at} <= %(end)s"
_TAKEN = "(" + ", ".join(f"'{s}'" for s in TAKEN) + ")"
FLOOR_SQL = {
    "arrivals": f"""
        SELECT {_week("a.starts_at")}, count(*) FILTER (WHERE w.arrival = 'on_time'),
               count(*) FILTER (WHERE w.arrival = 'no_show'), count(*)
        FROM assignments a JOIN work_records w ON w.assignment_id = a.id
        WHERE {_IN_PERIOD.format(at="a.starts_at")} AND w.arrival IS NOT NULL
        GROUP BY 1""",
    "approved": f"""
        SELECT {_week("t.at")}, count(*) FILTER (WHERE t.revisits = 0), count(*),
               sum(t.seconds) / 60.0
        FROM (SELECT w.approved_at AS at, w.revisits,
                     coalesce(sum(extract(epoch FROM v.checkout_at - v.checkin_at)), 0) AS seconds
              FROM work_records w JOIN assignments a ON a.id = w.assignment_id
              LEFT JOIN visits v ON v.assignment_id = w.assignment_id
                                AND v.checkout_at IS NOT NULL
              WHERE {_IN_PERIOD.format(at="w.approved_at")}
              GROUP BY w.assignment_id) t
        GROUP BY 1""",
    "backouts": f"""
        SELECT {_week("t.at")}, count(*) FILTER (WHERE t.backout),
               count(*) FILTER (WHERE t.backout AND t.hours < 24), count(*)
        FROM (SELECT a.starts_at AS at, false AS backout, NULL::int AS hours FROM assignments a
              WHERE {_IN_PERIOD.format(at="a.starts_at")} AND a.status IN {_TAKEN}
              UNION ALL
              SELECT a.starts_at, true, b.hours_before_start
              FROM backouts b JOIN assignments a ON a.id = b.assignment_id
              WHERE {_IN_PERIOD.format(at="a.starts_at")} AND NOT b.offboarded) t
        GROUP BY 1""",
    "fill": f"""
        SELECT {_week("a.published_at")},
               sum(extract(epoch FROM o.responded_at - a.published_at)) / 60.0, count(*)
        FROM assignments a JOIN offers o ON o.assignment_id = a.id AND o.status = 'accepted'
        WHERE {_IN_PERIOD.format(at="a.published_at")} AND o.responded_at IS NOT NULL
        GROUP BY 1""",
    "sla": f"""
        SELECT {_week("t.starts_at")}, count(*) FILTER (WHERE NOT t.breached), count(*)
        FROM (SELECT a.starts_at, a.status, EXISTS (
                  SELECT 1 FROM sla_events e WHERE e.assignment_id = a.id
                  AND e.state = 'breach') AS breached
              FROM assignments a
              WHERE {_IN_PERIOD.format(at="a.starts_at")}
                AND (a.sla_response_minutes IS NOT NULL OR a.sla_arrival_minutes IS NOT NULL
                     OR a.sla_completion_minutes IS NOT NULL)) t
        WHERE t.status IN {_TAKEN} OR t.breached
        GROUP BY 1""",
}


def floor_figures(conn, params: dict) -> dict[str, dict[int, tuple[float, int]]]:
    """Per KPI, week -> (sum of scores, rows counted), from the hand-written SQL."""
    out: dict[str, dict[int, tuple[float, int]]] = {k: {} for k in (
        "on_time", "no_show", "first_time", "time_on_site", "backout", "late_backout",
        "time_to_fill", "sla")}
    for week, on_time, no_show, n in conn.execute(FLOOR_SQL["arrivals"], params):
        out["on_time"][week], out["no_show"][week] = (on_time, n), (no_show, n)
    for week, first, n, minutes in conn.execute(FLOOR_SQL["approved"], params):
        out["first_time"][week], out["time_on_site"][week] = (first, n), (float(minutes), n)
    for week, backouts, late, n in conn.execute(FLOOR_SQL["backouts"], params):
        out["backout"][week], out["late_backout"][week] = (backouts, n), (late, n)
    for week, minutes, n in conn.execute(FLOOR_SQL["fill"], params):
        out["time_to_fill"][week] = (float(minutes), n)
    for week, kept, n in conn.execute(FLOOR_SQL["sla"], params):
        out["sla"][week] = (kept, n)
    return out


def _check_equal(figures, floor: dict, weeks: int) -> list[str]:
    """Where the page's figures and the floor's disagree (nothing, when they agree)."""
    problems = []
    for figure in figures:
        mine = floor[figure.kpi.key]
        for index, (_, value, n) in enumerate(reversed(figure.weekly)):
            total, count = mine.get(index, (0, 0))
            expected = (total / count) if count else None
            if n != count or (expected is None) != (value is None) or (
                    value is not None and abs(value - expected) > 1e-6 * max(1, abs(expected))):
                problems.append(f"{figure.kpi.key} week {index}: {value}/{n} against "
                                f"{expected}/{count}")
        if any(w >= weeks or w < 0 for w in mine):
            problems.append(f"{figure.kpi.key}: the floor found rows outside the weeks")
    return problems


def measure_pages(url: str, size: Size) -> dict:
    import psycopg
    from sqlalchemy.orm import configure_mappers

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.manage import board, kpis, rollups

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": templates.sa_url(url)})
    scope = kpis.scope_for(1, WEEKS, end=END)
    # An end off the hour too: each week boundary then cuts an hour the rollups read
    # from the facts (the page's default end is now).
    cut = kpis.scope_for(1, WEEKS, end=END - timedelta(minutes=23, seconds=11))
    params = {"firm": 1, "start": scope.start, "end": scope.end}
    kpi_ms, cut_ms, live_ms, floor_ms, board_ms = [], [], [], [], []
    with app.app_context(), psycopg.connect(url, autocommit=True) as conn:
        configure_mappers()
        figures = rollups.dashboard(scope)
        db.session.remove()
        problems = _check_equal(figures, floor_figures(conn, params), WEEKS)
        problems += _check_equal(rollups.dashboard(cut), floor_figures(
            conn, {"firm": 1, "start": cut.start, "end": cut.end}), WEEKS)
        db.session.remove()
        for _ in range(3):      # warm: plans, caches, the compiled statements
            rollups.dashboard(scope)
            rollups.dashboard(cut)
            board.rows_for(1, "America/Chicago", END)
            floor_figures(conn, params)
            db.session.remove()
        for run in range(size.kpi_runs):
            t = time.perf_counter()
            rollups.dashboard(scope)
            kpi_ms.append((time.perf_counter() - t) * 1000)
            db.session.remove()
            t = time.perf_counter()
            rollups.dashboard(cut)
            cut_ms.append((time.perf_counter() - t) * 1000)
            db.session.remove()
            t = time.perf_counter()
            floor_figures(conn, params)
            floor_ms.append((time.perf_counter() - t) * 1000)
            if run % 6 == 0:     # the live computation from the events, for reference
                t = time.perf_counter()
                kpis.dashboard(scope)
                live_ms.append((time.perf_counter() - t) * 1000)
                db.session.remove()
        rows = []
        for _ in range(size.board_runs):
            t = time.perf_counter()
            rows = board.rows_for(1, "America/Chicago", END)
            board_ms.append((time.perf_counter() - t) * 1000)
            flagged = sum(1 for r in rows if r.flags)
            db.session.remove()
        db.engine.dispose()
    print(f"KPI page from the rollups (12 weeks, {len(figures)} KPIs, "
          f"{sum(f.count for f in figures)} rows counted): "
          f"p50 {statistics.median(kpi_ms):.1f} ms, p95 {pct(kpi_ms, 95):.1f} ms; with an "
          f"end off the hour p50 {statistics.median(cut_ms):.1f} ms, p95 "
          f"{pct(cut_ms, 95):.1f} ms", flush=True)
    print(f"live computation from the events (kpis.dashboard, {len(live_ms)} runs): "
          f"p50 {statistics.median(live_ms):.1f} ms, p95 {pct(live_ms, 95):.1f} ms", flush=True)
    print(f"floor (hand-written SQL, psycopg): p50 {statistics.median(floor_ms):.1f} ms, "
          f"p95 {pct(floor_ms, 95):.1f} ms; figures {'equal' if not problems else 'DIFFER'}",
          flush=True)
    for problem in problems[:10]:
        print("  " + problem)
    print(f"board ({len(rows)} rows, {flagged} flagged): p50 {statistics.median(board_ms):.1f}"
          f" ms, p95 {pct(board_ms, 95):.1f} ms; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    return {"kpi_p95_ms": max(pct(kpi_ms, 95), pct(cut_ms, 95)),
            "kpi_whole_hour_p95_ms": pct(kpi_ms, 95), "kpi_cut_hour_p95_ms": pct(cut_ms, 95),
            "live_p95_ms": pct(live_ms, 95), "floor_p95_ms": pct(floor_ms, 95),
            "board_p95_ms": pct(board_ms, 95), "kpi_equal_floor": not problems,
            "board_rows": len(rows)}


# --- the outbox ---------------------------------------------------------------------------

WORKERS = 3
LEASE_SECONDS = 5       # a killed worker's rows come due again after this
CLAIM = 25              # rows a worker claims at once (delivered well within half the lease)
ENDPOINTS = 5


class Effects:
    """What a receiver applied: one effect per message id; redeliveries counted, dropped."""

    def __init__(self):
        self.lock = threading.Lock()
        self.applied: dict[str, int] = {}        # message id -> the bench's sequence number
        self.redelivered = 0
        self.rejected = 0                        # bad signature or unreadable

    def receive(self, message_id: str | None, n: int | None) -> None:
        with self.lock:
            if not message_id or n is None:
                self.rejected += 1
            elif message_id in self.applied:
                self.redelivered += 1
            else:
                self.applied[message_id] = n

    def tally(self, expected: dict[str, int]) -> dict:
        """lost: rows whose id never arrived; duplicated: ids applied more than once, or
        one row's effect (its sequence number) applied under two ids."""
        with self.lock:
            counts: dict[int, int] = {}
            for n in self.applied.values():
                counts[n] = counts.get(n, 0) + 1
            return {"lost": sum(1 for key in expected if key not in self.applied),
                    "duplicated": sum(c - 1 for c in counts.values() if c > 1),
                    "redelivered": self.redelivered, "rejected": self.rejected,
                    "unexpected": sum(1 for key in self.applied if key not in expected)}


class SmtpReceiver:
    """aiosmtpd, as tests/smtp.py: a mailbox applying each Message-ID once."""

    def __init__(self):
        import re

        from aiosmtpd.controller import Controller
        self.effects = Effects()
        pattern_id = re.compile(rb"^Message-ID:\s*<([^@>]+)@", re.MULTILINE | re.IGNORECASE)
        pattern_n = re.compile(rb"Bench message (\d+)")
        effects = self.effects

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                key, n = pattern_id.search(envelope.content), pattern_n.search(envelope.content)
                effects.receive(key.group(1).decode() if key else None,
                                int(n.group(1)) if n else None)
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.url = f"smtp://127.0.0.1:{port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class WebhookReceiver:
    """An HTTP/1.1 server (kept-alive connections) that checks each endpoint's signature as
    tests/webhook_receiver.py does and applies each webhook-id once."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from tests.webhook_receiver import verify
        self.effects = Effects()
        self.secrets: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver.secrets.get(self.path.rsplit("/", 1)[-1])
                ok = secret is not None and verify(secret, headers, body)
                n = json.loads(body)["data"].get("n") if ok else None
                receiver.effects.receive(headers.get("webhook-id") if ok else None, n)
                self.send_response(200 if ok else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass    # a killed relay's connection, cut mid-request: it is redelivered

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _worker_app(url: str, smtp_url: str | None = None):
    return templates.app_for(url, SMTP_URL=smtp_url, OUTBOX_LEASE_SECONDS=LEASE_SECONDS,
                             OUTBOX_RELAY_AFTER_COMMIT=False)


def relay_worker(url: str, channel: str, smtp_url: str | None) -> None:
    """A relay process: the app, then `outbox.relay` until nothing of `channel` is pending
    (waiting out leases held by others). Says "ready", starts on a line from stdin."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import configure_mappers

    from marketplace.core import outbox
    from marketplace.core.outbox import OutboxMessage, OutboxStatus
    from marketplace.extensions import db
    logging.getLogger("marketplace").setLevel(logging.ERROR)
    app = _worker_app(url, smtp_url)
    app.logger.setLevel(logging.ERROR)
    with app.app_context():
        configure_mappers()
        pending = (select(func.count()).select_from(OutboxMessage)
                   .where(OutboxMessage.status == OutboxStatus.PENDING,
                          OutboxMessage.channel == channel))
        db.session.scalar(pending)
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        sent = failed = 0
        while True:
            result = outbox.relay(limit=CLAIM, channel=channel, rounds=1000)
            sent, failed = sent + result.sent, failed + result.failed + result.dead
            if result.sent or result.failed or result.dead:
                continue
            left = db.session.scalar(pending)
            db.session.rollback()
            if not left:
                break
            time.sleep(0.05)
    print(json.dumps({"sent": sent, "failed": failed}), flush=True)


def _start_worker(url: str, channel: str, smtp_url: str | None) -> subprocess.Popen:
    args = [sys.executable, os.path.abspath(__file__), "--relay-worker", channel, "--url", url]
    if smtp_url:
        args += ["--smtp-url", smtp_url]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"relay worker did not start: {line!r}")
    return proc


def _drain(url: str, channel: str, total: int, effects: Effects,
           smtp_url: str | None = None) -> dict:
    """WORKERS relay processes; one killed with SIGKILL once a third has reached the
    receiver, and replaced by a spare started beforehand (as a supervisor keeps one ready).
    Done when no row of the channel is pending (each delivered row marked sent)."""
    import psycopg
    workers = [_start_worker(url, channel, smtp_url) for _ in range(WORKERS)]
    spare = _start_worker(url, channel, smtp_url)
    killed_at = None
    with psycopg.connect(url, autocommit=True) as conn:
        def pending() -> int:
            return conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending' "
                                "AND channel = %s", (channel,)).fetchone()[0]

        t0, polls = time.perf_counter(), 0
        for proc in workers:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        while True:
            time.sleep(0.05)
            arrived = len(effects.applied)     # the receiver's count: no load on the database
            if killed_at is None and arrived >= total // 3:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed_at = arrived
                spare.stdin.write("go\n")
                spare.stdin.flush()
                workers.append(spare)
            polls += 1
            if killed_at is not None and (arrived >= total or polls % 20 == 0) \
                    and pending() == 0:
                elapsed = time.perf_counter() - t0
                break
            if time.perf_counter() - t0 > 600:
                raise RuntimeError(f"{channel}: {arrived} of {total} arrived after 10 minutes")
        statuses = dict(conn.execute("SELECT status, count(*) FROM outbox WHERE channel = %s "
                                     "GROUP BY status", (channel,)).fetchall())
        expected = {key: n for key, n in conn.execute(
            "SELECT message_id, id FROM outbox WHERE channel = %s", (channel,)).fetchall()}
    reports = []
    for proc in workers[1:]:
        out, _ = proc.communicate(timeout=60)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return {"elapsed_s": elapsed, "rate": total / elapsed, "killed_at": killed_at,
            "statuses": statuses, "expected": expected,
            "worker_failures": sum(r["failed"] for r in reports)}


def _enqueue_emails(url: str, total: int) -> None:
    """Half plain emails, half notifications sent as email (as the sweep writes them)."""
    from sqlalchemy import insert

    from marketplace.core import outbox
    from marketplace.extensions import db
    from marketplace.notifications.models import Notification
    app = _worker_app(url)
    with app.app_context():
        techs = [(i, f"tech{i}@kpis.bench") for i in range(1, 2001)]
        half = total // 2
        outbox.enqueue_many("email", [
            {"to": techs[n % len(techs)][1], "subject": f"Bench message {n}",
             "body": f"Bench message {n}: your week ahead."} for n in range(half)])
        ids = db.session.scalars(insert(Notification).returning(Notification.id), [
            {"user_id": len(OTHER_METROS) + 1 + techs[n % len(techs)][0],
             "kind": "bench.reminder", "title": f"Bench message {n}",
             "body": "Your insurance expires soon."} for n in range(half, total)]).all()
        outbox.enqueue_many("email", [{"notification_id": i} for i in ids])
        db.session.commit()
        db.engine.dispose()


def _enqueue_webhooks(url: str, total: int, receiver: WebhookReceiver) -> None:
    """One endpoint per firm; `webhooks.emit` for each event, as the lifecycle does."""
    from marketplace.accounts.models import User
    from marketplace.extensions import db
    from marketplace.notifications import webhooks
    app = _worker_app(url)
    with app.app_context():
        for f in range(1, ENDPOINTS + 1):
            owner = db.session.get(User, f)
            _, secret = webhooks.create_endpoint(
                owner, url=f"{receiver.url}/{f}", event_types=["assignment.published"])
            receiver.secrets[str(f)] = secret
        db.session.flush()
        for n in range(total):
            webhooks.emit(n % ENDPOINTS + 1, "assignment.published",
                          {"assignment_id": n + 1, "n": n})
        db.session.commit()
        db.engine.dispose()


def measure_outbox(url: str, size: Size) -> dict:
    out = {}
    with SmtpReceiver() as smtp:
        _enqueue_emails(url, size.emails)
        drained = _drain(url, "email", size.emails, smtp.effects, smtp.url)
        out["email"] = {**drained, **smtp.effects.tally(drained.pop("expected"))}
    with WebhookReceiver() as hooks:
        _enqueue_webhooks(url, size.webhooks, hooks)
        drained = _drain(url, "webhook", size.webhooks, hooks.effects)
        out["webhook"] = {**drained, **hooks.effects.tally(drained.pop("expected"))}
    for channel, r in out.items():
        print(f"outbox {channel}: {size.emails if channel == 'email' else size.webhooks} rows "
              f"in {r['elapsed_s']:.1f} s = {r['rate']:.0f}/s with {WORKERS} relay processes "
              f"(one killed once {r['killed_at']} had arrived, replaced); lost {r['lost']}, "
              f"duplicated {r['duplicated']}, redelivered and dropped {r['redelivered']}, "
              f"rejected {r['rejected']}; rows {r['statuses']}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40k past assignments, 2k+2k rows")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data")
    parser.add_argument("--keep", action="store_true", help="keep this run's database copy")
    parser.add_argument("--no-outbox", action="store_true",
                        help="measure the KPI page and the board only")
    parser.add_argument("--relay-worker", metavar="CHANNEL", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--smtp-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay_worker:
        relay_worker(args.url, args.relay_worker, args.smtp_url)
        return
    logging.getLogger("marketplace").setLevel(logging.WARNING)
    size = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    template = ensure_template(size, rebuild=args.rebuild)
    url = templates.copy_of(template, f"run{os.getpid()}")
    print(f"database copied from {template} ({time.perf_counter() - t0:.0f} s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    try:
        pages = measure_pages(url, size)
        skipped = {"rate": float("nan"), "lost": 0, "duplicated": 0, "redelivered": 0}
        mail = {"email": skipped, "webhook": skipped} if args.no_outbox else \
            measure_outbox(url, size)
    finally:
        if not args.keep:
            templates.drop_database(url)
    email, hooks = mail["email"], mail["webhook"]
    verdicts = {
        "KPI page p95 <= 50 ms": pages["kpi_p95_ms"] <= KPI_TARGET_MS,
        "KPI page p95 <= 2x floor": pages["kpi_p95_ms"] <= 2 * pages["floor_p95_ms"],
        "KPI page figures equal the floor's": pages["kpi_equal_floor"],
        "board p95 <= 30 ms": pages["board_p95_ms"] <= BOARD_TARGET_MS,
    }
    if not args.no_outbox:
        verdicts["outbox >= 300/s each"] = min(email["rate"], hooks["rate"]) >= RATE_TARGET
        verdicts["nothing lost or duplicated"] = not any(r["lost"] or r["duplicated"]
                                                         for r in (email, hooks))
    for name, ok in verdicts.items():
        print(f"{'met ' if ok else 'MISSED'} {name}")
    print(json.dumps({
        "bench": "kpis", "assignments": size.big + sum(size.others), "weeks": WEEKS,
        "kpi_p95_ms": round(pages["kpi_p95_ms"], 1),
        "floor_p95_ms": round(pages["floor_p95_ms"], 1),
        "kpi_vs_floor": round(pages["kpi_p95_ms"] / pages["floor_p95_ms"], 2),
        "kpi_equal_floor": pages["kpi_equal_floor"],
        "kpi_live_p95_ms": round(pages["live_p95_ms"], 1),
        "board_p95_ms": round(pages["board_p95_ms"], 1),
        "board_rows": pages["board_rows"],
        "outbox_email_per_s": None if args.no_outbox else round(email["rate"]),
        "outbox_webhook_per_s": None if args.no_outbox else round(hooks["rate"]),
        "lost": email["lost"] + hooks["lost"],
        "duplicated": email["duplicated"] + hooks["duplicated"],
        "redelivered": email["redelivered"] + hooks["redelivered"],
        "relay_workers": WORKERS, "load_average": round(os.getloadavg()[0], 1),
    }))


if __name__ == "__main__":
    main()
