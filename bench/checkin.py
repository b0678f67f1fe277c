"""Offline check-in benchmark: phones' queued actions replayed through the service layer.

    python bench/checkin.py            # 100k technicians, 200k assignments; 20k actions
    python bench/checkin.py --quick    # 10k technicians, 20k assignments; 2k actions
    python bench/checkin.py --profile  # and a cProfile summary, the time of every statement

The marketplace is bench/http_data.py's (generated with COPY once per schema revision,
kept as a PostgreSQL template; each run works on fresh copies). 2,000 technicians,
each holding assigned work (given a checklist of seven number, choice, confirm and text
tasks), sync a visit recorded offline: check-in, seven answers, check-out, in two
batches, with one action of each queue delivered twice (a retry inside a batch, or
an item of the first batch again in the second): 20,000 actions, 10% duplicates.
The batches of all the phones arrive interleaved, each phone's in order; each is
one `sync.apply_batch` in its own app context and transaction, committed as a
request would be. The floor, in the same run on another copy of the same data:
the rows those actions leave (visits, task_answers, applied_actions; the check-out
an UPDATE of its visit) written by bare statements with no checks, one transaction
per batch. Both rates count the same 20,000 actions. Then one JSON line.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import os
import pstats
import random
import sys
import time
from datetime import timedelta

_BENCH = os.path.dirname(os.path.abspath(__file__))
# Siblings are imported from the repository root (`from bench import http_data`).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
sys.path.insert(0, os.path.dirname(_BENCH))

from sqlalchemy import func, select, text
from sqlalchemy.orm import configure_mappers

from bench import http_data
from bench.verify_sweep import _time_statements

TARGET_RATIO = 0.25
WARMUP_TECHNICIANS = 20
SLICES = 10
TASKS = [
    {"key": "ground", "kind": "confirm", "label": "Rack grounded", "required": True},
    {"key": "level", "kind": "number", "label": "Signal level", "required": True,
     "unit": "dBm", "min": -90.0, "max": -20.0},
    {"key": "result", "kind": "choice", "label": "Certification", "required": True,
     "choices": ["Pass", "Fail"]},
    {"key": "labels", "kind": "confirm", "label": "Ports labelled", "required": True},
    {"key": "length", "kind": "number", "label": "Cable run", "required": True,
     "unit": "m", "min": 0, "max": 300},
    {"key": "rack", "kind": "choice", "label": "Rack type", "required": True,
     "choices": ["2-post", "4-post", "Wall"]},
    {"key": "notes", "kind": "text", "label": "Notes", "required": False},
]


def _value(task: dict, rng: random.Random) -> dict:
    kind = task["kind"]
    if kind == "confirm":
        return {"done": True}
    if kind == "number":
        return {"number": rng.randint(int(task["min"]), int(task["max"]))}
    if kind == "choice":
        return {"choice": rng.choice(task["choices"])}
    return {"text": f"Job done, {rng.randint(1, 99)} ports tested."}


def pick_work(url: str, count: int) -> list[tuple[int, int, int, float, float]]:
    """(user id, technician id, assignment id, lat, lon): technicians holding assigned
    work, one job each, chosen the same way every run; their jobs get the checklist."""
    import psycopg
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("""
            SELECT DISTINCT ON (a.assignee_id) t.user_id, t.id, a.id, a.lat, a.lon
            FROM assignments a JOIN technicians t ON t.id = a.assignee_id
            WHERE a.status = 'assigned' ORDER BY a.assignee_id, a.id""").fetchall()
        rows.sort(key=lambda r: http_data.hash_of(r[1]))
        if len(rows) < count:
            sys.exit(f"only {len(rows)} technicians hold assigned work; {count} needed")
        chosen = rows[:count]
        conn.execute("UPDATE assignments SET checklist = %s WHERE id = ANY(%s)",
                     (json.dumps(TASKS), [r[2] for r in chosen]))
        conn.commit()
    return chosen


def queues(work: list[tuple], rng: random.Random, now) -> tuple[list[tuple[int, list]], int]:
    """Every phone's visit as two batches (one action of each delivered twice), the
    phones' batches interleaved; returns the batches and the number of distinct actions."""
    per_phone, distinct = [], 0
    for user_id, tech_id, job_id, lat, lon in work:
        stamp = now - timedelta(minutes=90)

        def item(n, action, tech_id=tech_id, job_id=job_id, stamp=stamp, **data):
            return {"key": f"b{tech_id}-{n:02d}-{rng.getrandbits(40):010x}", "action": action,
                    "assignment_id": job_id,
                    "recorded_at": (stamp + timedelta(minutes=8 * n)).isoformat(),
                    "data": data}

        def position(n, lat=lat, lon=lon, stamp=stamp):
            return {"lat": lat, "lon": lon, "accuracy": 12.0,
                    "taken_at": (stamp + timedelta(minutes=8 * n)).isoformat()}
        visit = [item(0, "check_in", position=position(0))]
        visit += [item(n, "answer", task=task["key"], value=_value(task, rng))
                  for n, task in enumerate(TASKS, 1)]
        visit.append(item(len(TASKS) + 1, "check_out", position=position(len(TASKS) + 1)))
        distinct += len(visit)
        cut = rng.randint(2, len(visit) - 2)
        first, second = visit[:cut], visit[cut:]
        if rng.random() < 0.5:      # the first batch's answer was lost: an item again
            second.insert(0, rng.choice(first))
        else:                       # the phone queued one action twice
            batch = rng.choice([first, second])
            at = rng.randint(0, len(batch) - 1)
            batch.insert(at + 1, batch[at])
        per_phone.append([(user_id, first), (user_id, second)])
    order = [i for i, batches in enumerate(per_phone) for _ in batches]
    rng.shuffle(order)
    nxt = [0] * len(per_phone)
    out = []
    for i in order:                 # interleaved, each phone's batches in order
        out.append(per_phone[i][nxt[i]])
        nxt[i] += 1
    return out, distinct


def _app(url: str):
    from marketplace import create_app
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url.replace(
        "postgresql://", "postgresql+psycopg://", 1)})
    app.logger.setLevel(logging.WARNING)
    return app


class Service:
    """Each batch as a request does it: its own app context, one transaction, a commit."""

    def __init__(self, url: str, profile: bool):
        from marketplace.extensions import db
        self.app, self.refused, self.duplicates = _app(url), 0, 0
        self.seconds = self.cpu = 0.0
        self.profiler = cProfile.Profile() if profile else None
        with self.app.app_context():
            configure_mappers()
            self.statements = _time_statements(db.engine) if profile else {}

    def _deliver(self, user_id: int, items: list) -> list:
        from marketplace.accounts.models import User
        from marketplace.extensions import db
        from marketplace.manage import sync
        with self.app.app_context():
            outcomes = sync.apply_batch(db.session.get(User, user_id), items)
            db.session.commit()
            db.session.remove()
        return outcomes

    def warm(self, batches: list) -> None:
        """A long-running worker has compiled its statements and connected."""
        for user_id, items in batches:
            self._deliver(user_id, items)
        self.statements.clear()

    def run(self, batches: list) -> None:
        gc.collect()
        t, cpu = time.perf_counter(), time.process_time()
        if self.profiler:
            self.profiler.enable()
        for user_id, items in batches:
            for outcome in self._deliver(user_id, items):
                self.refused += outcome.status >= 400
                self.duplicates += outcome.duplicate
        if self.profiler:
            self.profiler.disable()
        self.seconds += time.perf_counter() - t
        self.cpu += time.process_time() - cpu

    def report_profile(self, actions: int) -> None:
        pstats.Stats(self.profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            r"marketplace|bench|_compile_w_cache|do_execute|orm_execute|refresh|flush", 50)
        pstats.Stats(self.profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        calls = sum(len(v) for v in self.statements.values())
        print(f"{calls} statements, {calls / actions:.2f} per action", file=sys.stderr)
        for key, times in sorted(self.statements.items(), key=lambda kv: -sum(kv[1]))[:40]:
            print(f"{sum(times) * 1000:9.1f} ms x{len(times):<6} {key}", file=sys.stderr)

    def effects(self) -> dict:
        """What the database holds (warm-up included); one audit row per effect taken."""
        from marketplace.core.actions import Action
        from marketplace.core.audit import AuditEntry
        from marketplace.extensions import db
        from marketplace.manage.models import AppliedAction, TaskAnswer, Visit
        with self.app.app_context():
            def count(model, *where):
                return db.session.scalar(select(func.count()).select_from(model).where(*where))
            effects = {
                "audited": count(AuditEntry, AuditEntry.action.in_([
                    Action.VISIT_CHECKED_IN.value, Action.VISIT_CHECKED_OUT.value,
                    Action.TASK_ANSWERED.value])),
                "visits": count(Visit),
                "checked_out": count(Visit, Visit.checkout_at.is_not(None)),
                "answers": count(TaskAnswer), "applied": count(AppliedAction),
                "applied_ok": count(AppliedAction, AppliedAction.status < 400)}
            db.session.remove()
            db.engine.dispose()
        return effects


FLOOR_SQL = {
    "check_in": """INSERT INTO visits (assignment_id, technician_id, number, checkin_at,
        checkin_received_at, checkin_lat, checkin_lon, checkin_accuracy_m, checkin_distance_m,
        checkin_geofence) VALUES (:assignment_id, :tech, 1, :at, :now, :lat, :lon, :accuracy,
        0, 'inside') RETURNING id""",
    "answer": """INSERT INTO task_answers (assignment_id, task_key, technician_id, value,
        answered_at, received_at) VALUES (:assignment_id, :task, :tech, :value, :at, :now)""",
    "check_out": """UPDATE visits SET checkout_at = :at, checkout_received_at = :now,
        checkout_lat = :lat, checkout_lon = :lon, checkout_accuracy_m = :accuracy,
        checkout_distance_m = 0, checkout_geofence = 'inside' WHERE id = :visit""",
    "applied": """INSERT INTO applied_actions (technician_id, key, action, assignment_id,
        status, result, received_at) VALUES (:tech, :key, :action, :assignment_id, :status,
        :result, :now)""",
}


class Floor:
    """The same rows, bare: no checks, no reads, no audit; one transaction per batch."""

    def __init__(self, url: str, techs: dict[int, int]):
        from marketplace.extensions import db
        self.app, self.techs = _app(url), techs
        self.seconds = self.cpu = 0.0
        self.statements = {name: text(sql) for name, sql in FLOOR_SQL.items()}
        self.seen: set[str] = set()
        self.visit_of: dict[int, int] = {}
        with self.app.app_context():
            self.engine = db.engine
        self.conn = self.engine.connect()

    def _deliver(self, user_id: int, items: list) -> None:
        from datetime import datetime

        from marketplace.core import clock
        conn, tech, sql = self.conn, self.techs[user_id], self.statements
        with conn.begin():
            for item in items:
                if item["key"] in self.seen:    # the floor knows its duplicates
                    continue
                self.seen.add(item["key"])
                now, data = clock.now(), item["data"]
                at = datetime.fromisoformat(item["recorded_at"])
                row = {"assignment_id": item["assignment_id"], "tech": tech, "at": at,
                       "now": now, "key": item["key"], "action": item["action"]}
                if item["action"] == "answer":
                    conn.execute(sql["answer"], {**row, "task": data["task"],
                                                 "value": json.dumps(data["value"])})
                    result, status = {"task": data["task"], "value": data["value"],
                                      "answered_at": at.isoformat()}, 200
                else:
                    fix = data["position"]
                    where = {**row, "lat": fix["lat"], "lon": fix["lon"],
                             "accuracy": fix["accuracy"]}
                    if item["action"] == "check_in":
                        self.visit_of[tech] = conn.execute(sql["check_in"], where).scalar()
                    else:
                        conn.execute(sql["check_out"], {**where, "visit": self.visit_of[tech]})
                    result, status = {"visit_id": self.visit_of[tech], "number": 1,
                                      "at": at.isoformat(), "geofence": "inside",
                                      "distance_m": 0, "arrival": "on_time",
                                      "status": "in_progress"}, 201
                conn.execute(sql["applied"], {**row, "status": status,
                                              "result": json.dumps(result)})

    def warm(self, batches: list) -> None:
        for user_id, items in batches:
            self._deliver(user_id, items)

    def run(self, batches: list) -> None:
        gc.collect()
        t, cpu = time.perf_counter(), time.process_time()
        for user_id, items in batches:
            self._deliver(user_id, items)
        self.seconds += time.perf_counter() - t
        self.cpu += time.process_time() - cpu

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10k technicians, 20k assignments; 200 phones, 2k actions")
    parser.add_argument("--phones", type=int, help="technicians syncing (default 2,000)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="a cProfile summary of the service run and its statements")
    parser.add_argument("--rebuild", action="store_true", help="generate the data anew")
    parser.add_argument("--keep", action="store_true", help="keep the run's databases")
    args = parser.parse_args()
    logging.getLogger("marketplace").setLevel(logging.WARNING)
    from marketplace.core import clock

    size = http_data.QUICK if args.quick else http_data.FULL
    phones = args.phones or (200 if args.quick else 2000)
    t0 = time.perf_counter()
    template = http_data.ensure_template(size, rebuild=args.rebuild,
                                         log=lambda m: print(m, flush=True))
    # Short suffixes: PostgreSQL cuts names at 63 bytes, and the full template's name
    # leaves little room (a longer one made both copies the same database).
    urls = [http_data.copy_of(template, f"ck{name}{os.getpid()}") for name in "sf"]
    assert urls[0] != urls[1] and all(len(u.rsplit("/", 1)[1]) <= 63 for u in urls)
    try:
        picked = pick_work(urls[0], phones + WARMUP_TECHNICIANS)
        pick_work(urls[1], phones + WARMUP_TECHNICIANS)
        print(f"{size.technicians:,} technicians, {size.assignments:,} assignments "
              f"(template {template}); ready in {time.perf_counter() - t0:.0f} s", flush=True)
        rng = random.Random(args.seed)
        now = clock.now()
        warmup, warm_distinct = queues(picked[:WARMUP_TECHNICIANS], rng, now)
        batches, distinct = queues(picked[WARMUP_TECHNICIANS:], rng, now)
        actions = sum(len(items) for _, items in batches)
        techs = {row[0]: row[1] for row in picked}

        # The two take turns, a slice of the batches each, so that both meet the same
        # load on a shared machine.
        service, floor = Service(urls[0], args.profile), Floor(urls[1], techs)
        service.warm(warmup)
        floor.warm(warmup)
        step = -(-len(batches) // SLICES)
        for at in range(0, len(batches), step):
            floor.run(batches[at:at + step])
            service.run(batches[at:at + step])
        floor.close()
        if args.profile:
            service.report_profile(actions)
        effects = service.effects()
        # Counted over every phone, the warm-up's included: each distinct key is stored
        # once and took one effect (one audit row); anything beyond is a duplicate applied.
        keys, jobs = warm_distinct + distinct, len(picked)
        duplicates_applied = effects["audited"] - effects["applied_ok"]
        lost = keys - effects["applied_ok"]
        rows_ok = (effects["applied"], effects["visits"], effects["checked_out"],
                   effects["answers"]) == (keys, jobs, jobs, jobs * len(TASKS))
        rate = actions / service.seconds
        floor_rate = actions / floor.seconds
        print(f"actions: {actions:,} from {phones:,} phones in {len(batches):,} batches "
              f"({actions - distinct:,} duplicates, {service.duplicates:,} answered as such; "
              f"{service.refused} refused)")
        print(f"service: {service.seconds:.2f} s, {rate:,.0f} actions/s "
              f"({service.seconds / actions * 1000:.2f} ms per action, of which "
              f"{service.cpu / actions * 1000:.2f} ms on this process's CPU)")
        print(f"effects: {effects['visits']:,} visits ({effects['checked_out']:,} checked out), "
              f"{effects['answers']:,} answers, {effects['applied']:,} keys stored for {keys:,} "
              f"distinct (warm-up included): {'as expected' if rows_ok else 'MISMATCH'}; "
              f"duplicates applied: {duplicates_applied}, lost: {lost}")
        print(f"floor: {floor.seconds:.2f} s, {floor_rate:,.0f} actions/s (bare INSERTs "
              f"and the check-out UPDATE, one transaction per batch; "
              f"{floor.cpu / actions * 1000:.2f} ms of CPU per action)")
        verdict = "meets" if rate / floor_rate >= TARGET_RATIO else "misses"
        print(f"ratio: {rate / floor_rate:.1%} of the floor ({verdict} the "
              f"{TARGET_RATIO:.0%} target)")
        print(json.dumps({"bench": "checkin", "technicians": size.technicians,
                          "assignments": size.assignments, "phones": phones,
                          "actions": actions, "distinct_actions": distinct,
                          "actions_per_s": round(rate, 1), "floor_per_s": round(floor_rate, 1),
                          "ratio": round(rate / floor_rate, 3),
                          "duplicates_applied": duplicates_applied,
                          "lost": lost, "refused": service.refused}))
    finally:
        if not args.keep:
            for url in urls:
                http_data.drop_database(url)


if __name__ == "__main__":
    main()
