"""Benchmark the expiry sweep on PostgreSQL: 100k technicians, 500k credentials.

About 1% of the credentials lapse on the sweep day (including 200 technicians
who lose everything and get suspended); the rest spread over the next 400
days, so the 30/7/1-day reminders fire too. Prints the sweep time, the rows
offboarded and the time of one hand-written UPDATE over the same table (the
floor), then a JSON line.

    python bench/verify_sweep.py [--technicians 100000] [--keep]
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
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sqlalchemy import text  # noqa: E402

from marketplace import clock, create_app  # noqa: E402
from marketplace.extensions import db  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--technicians", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile summary of the timed sweep")
    args = parser.parse_args()
    rng = random.Random(7)
    url = create_postgres_database("bench_verify")
    try:
        from flask_migrate import upgrade
        # Emails are queued for the worker (as in production), not sent inline.
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "CELERY_EAGER": False})
        logging.getLogger("marketplace").setLevel(logging.WARNING)
        app.logger.setLevel(logging.WARNING)
        with app.app_context():
            upgrade()
        t0 = time.perf_counter()
        credentials = generate(url, args.technicians, rng)
        print(f"generated {args.technicians} technicians, {credentials} credentials "
              f"in {time.perf_counter() - t0:.1f}s")
        clock.travel_to(datetime(2026, 12, 1, 6, tzinfo=timezone.utc), freeze=True)
        from marketplace.verify.expiry import run_sweep
        with app.app_context():
            # The set-up (app, migrations, 500k generated rows) leaves a first full
            # garbage collection pending; run it now so neither timing pays for it
            # (a long-running worker has long since paid it when the sweep runs).
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
            floor_s = min(floors)
            profiler = cProfile.Profile() if args.profile else None
            statements = _time_statements(db.engine) if args.profile else {}
            t = time.perf_counter()
            if profiler:
                profiler.enable()
            result = run_sweep(SWEEP_DAY)
            db.session.commit()
            if profiler:
                profiler.disable()
            sweep_s = time.perf_counter() - t
            if profiler:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
                for key, times in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
                    print(f"{sum(times) * 1000:8.1f} ms x{len(times):<3} {key}", file=sys.stderr)
            second = run_sweep(SWEEP_DAY)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        print(f"sweep: {sweep_s:.3f}s  ({result.reminders} reminders, {result.expired} "
              f"credentials expired, {result.suspended} technicians suspended)")
        print(f"floor: {floor_s:.3f}s  (UPDATE ... WHERE expires_on < :today, "
              f"{floor_rows} rows, rolled back)")
        print(f"ratio: {sweep_s / floor_s:.2f}x floor; second run changes: {second.changes}")
        print(json.dumps({"bench": "verify_sweep", "credentials": credentials,
                          "technicians": args.technicians, "sweep_s": round(sweep_s, 3),
                          "floor_s": round(floor_s, 3), "offboarded": result.expired,
                          "suspended": result.suspended, "reminders": result.reminders,
                          "second_run_changes": second.changes}))
    finally:
        if not args.keep:
            drop_postgres_database(url)


if __name__ == "__main__":
    main()
