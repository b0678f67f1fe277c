"""Benchmark the expiry sweep on PostgreSQL: 100k technicians, 500k credentials.

About 1% of the credentials lapse on the sweep day (including 200 technicians
who lose everything and get suspended); the rest spread over the next 400
days, so the 30/7/1-day reminders fire too. Prints the sweep time, the rows
offboarded and the time of one hand-written UPDATE over the same table (the
floor), then a JSON line. Each trial runs on a fresh copy of the generated data
in a fresh app (nothing compiled, caches cold); the medians are reported.

    python bench/verify_sweep.py [--technicians 100000] [--trials 3] [--keep] [--profile]
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
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import configure_mappers  # noqa: E402

from marketplace.core import clock
from marketplace import create_app
from marketplace.extensions import celery, db  # noqa: E402
from tests.services import create_postgres_database, drop_postgres_database  # noqa: E402

SWEEP_DAY = date(2026, 12, 1)
TYPES = ["General liability insurance", "OSHA 10", "Low-voltage licence", "Background check",
         "Drug test"]


def _copy(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(url: str, technicians: int, rng: random.Random) -> int:
    import psycopg
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    total = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        _copy(cur, "users", ["id", "email", "name", "password_hash", "kind", "is_enabled",
                             "session_version", "created_at"],
              ((i, f"tech{i}@bench.example", f"Tech {i}", "x", "technician", True, 1, now)
               for i in range(1, technicians + 1)))
        _copy(cur, "technicians", ["id", "user_id", "headline", "bio", "timezone",
                                   "travel_radius_km", "hourly_rate_cents", "currency",
                                   "availability", "status", "created_at", "updated_at"],
              ((i, i, "", "", "America/Chicago", 40, 5000, "USD", "{}", "active", now, now)
               for i in range(1, technicians + 1)))
        _copy(cur, "credential_types", ["id", "name", "kind", "description",
                                        "requires_document", "expires", "is_active",
                                        "created_at"],
              ((i + 1, name, "licence", "", True, True, True, now)
               for i, name in enumerate(TYPES)))
        wipeouts = set(rng.sample(range(1, technicians + 1), min(200, technicians)))
        lapse_target = technicians * 5 // 100  # 1% of 5 per technician
        lapsing = lapse_target - 5 * len(wipeouts)

        def credentials():
            nonlocal lapsing
            cid = 0
            for tech in range(1, technicians + 1):
                for type_id in range(1, 6):
                    cid += 1
                    if tech in wipeouts:
                        expires = SWEEP_DAY - timedelta(days=1)
                    elif lapsing > 0 and rng.random() < 0.0105:
                        lapsing -= 1
                        expires = SWEEP_DAY - timedelta(days=1)
                    else:
                        expires = SWEEP_DAY + timedelta(days=rng.randint(0, 400))
                    yield (cid, tech, type_id, "approved", expires, now, now)
            return cid

        rows = list(credentials())
        total = len(rows)
        _copy(cur, "credentials", ["id", "technician_id", "credential_type_id", "status",
                                   "expires_on", "submitted_at", "updated_at"], rows)
        for table in ("users", "technicians", "credential_types", "credentials"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return total


def _time_statements(engine) -> dict[str, list[float]]:
    """Seconds per SQL statement (first 100 characters), for --profile."""
    from sqlalchemy import event
    seen: dict[str, list[float]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, many):
        conn.info["bench_t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, many):
        key = " ".join(statement.split())[:100]
        seen.setdefault(key, []).append(time.perf_counter() - conn.info.pop("bench_t"))
    return seen


def _copy_database(template_url: str, trial: int) -> str:
    """A copy of the generated database (CREATE DATABASE ... TEMPLATE), so every
    trial sweeps the same untouched data."""
    import psycopg
    from tests.services import PG_ADMIN_URL
    base, name = template_url.rsplit("/", 1)
    copy = f"{name}_t{trial}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        # A file copy, then a checkpoint: the copy's writes are done before timing.
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}" STRATEGY FILE_COPY')
        conn.execute("CHECKPOINT")
    return f"{base}/{copy}"


def _trial(url: str, profile: bool) -> dict:
    """One floor and one sweep on a fresh copy, in a fresh app (nothing compiled yet)."""
    from marketplace.verify.expiry import run_sweep
    # Emails are queued for the worker (as in production), not sent inline.
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "CELERY_EAGER": False})
    app.logger.setLevel(logging.WARNING)
    with app.app_context():
        # A long-running worker has long since configured its mappers, connected to
        # its broker and paid the first full garbage collection of its set-up; so does
        # this one, before timing.
        configure_mappers()
        with celery.producer_or_acquire() as producer:
            producer.connection.ensure_connection()
        gc.collect()
        floors = []
        for _ in range(2):
            with db.engine.connect() as conn:
                t = time.perf_counter()
                floor_rows = conn.execute(text(
                    "UPDATE credentials SET status = 'expired' WHERE expires_on < :today"),
                    {"today": SWEEP_DAY}).rowcount
                floors.append(time.perf_counter() - t)
                conn.rollback()
        profiler = cProfile.Profile() if profile else None
        statements = _time_statements(db.engine) if profile else {}
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        result = run_sweep(SWEEP_DAY)
        db.session.commit()  # and the emails are queued, after commit
        if profiler:
            profiler.disable()
        sweep_s = time.perf_counter() - t
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
                r"marketplace|bench|_compile_w_cache|do_execute|orm_execute|_run_callbacks", 40)
            for key, times in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
                print(f"{sum(times) * 1000:8.1f} ms x{len(times):<3} {key}", file=sys.stderr)
        second = run_sweep(SWEEP_DAY)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"sweep_s": sweep_s, "floor_s": min(floors), "floor_rows": floor_rows,
            "result": result, "second_changes": second.changes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--technicians", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=3,
                        help="sweeps, each on a fresh copy of the data; medians are reported")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile summary of each timed sweep")
    args = parser.parse_args()
    rng = random.Random(7)
    url = create_postgres_database("bench_verify")
    copies: list[str] = []
    try:
        from flask_migrate import upgrade
        logging.getLogger("marketplace").setLevel(logging.WARNING)
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        t0 = time.perf_counter()
        credentials = generate(url, args.technicians, rng)
        print(f"generated {args.technicians} technicians, {credentials} credentials "
              f"in {time.perf_counter() - t0:.1f}s")
        clock.travel_to(datetime(2026, 12, 1, 6, tzinfo=timezone.utc), freeze=True)
        trials = []
        for number in range(args.trials):
            copies.append(_copy_database(url, number))
            trials.append(_trial(copies[-1], args.profile))
            print(f"trial {number + 1}: sweep {trials[-1]['sweep_s']:.3f}s, "
                  f"floor {trials[-1]['floor_s']:.3f}s")
        sweep_s = statistics.median(t["sweep_s"] for t in trials)
        floor_s = statistics.median(t["floor_s"] for t in trials)
        result, floor_rows = trials[0]["result"], trials[0]["floor_rows"]
        second_changes = max(t["second_changes"] for t in trials)
        print(f"sweep: {sweep_s:.3f}s median of {len(trials)}  ({result.reminders} reminders, "
              f"{result.expired} credentials expired, {result.suspended} technicians suspended)")
        print(f"floor: {floor_s:.3f}s median of {len(trials)}  (UPDATE ... WHERE expires_on < "
              f":today, {floor_rows} rows, rolled back)")
        print(f"ratio: {sweep_s / floor_s:.2f}x floor; second run changes: {second_changes}")
        print(json.dumps({"bench": "verify_sweep", "credentials": credentials,
                          "technicians": args.technicians, "sweep_s": round(sweep_s, 3),
                          "floor_s": round(floor_s, 3), "ratio": round(sweep_s / floor_s, 2),
                          "offboarded": result.expired, "suspended": result.suspended,
                          "reminders": result.reminders, "trials": len(trials),
                          "second_run_changes": second_changes}))
    finally:
        if not args.keep:
            for copy in copies:
                drop_postgres_database(copy)
            drop_postgres_database(url)


if __name__ == "__main__":
    main()
