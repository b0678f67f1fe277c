"""Ledger benchmark, on PostgreSQL.

    python bench/ledger.py            # 200k transactions, 2M entries for the balance reads
    python bench/ledger.py --quick    # 20k transactions, 200k entries

Accounts: 1k firms (available, reserved) and 10k technicians (payable, in transit, paid
out), the platform's fees and clearing. Eight worker processes post a mix of
reserve (firm available -> reserved), approve (reserved -> technician payable less the
platform fee: three entries), payout (payable -> in transit) and settle (in transit ->
paid out) through `ledger.post`, each in its own committed database transaction (the
running balances under row locks, the platform's fees as appended deltas, the deferred
balance trigger at commit). Per transaction: post + commit, timed in the worker.
Meanwhile a ninth process rolls the deltas up every ROLL_UP_EVERY seconds (the beat
does it each minute), so the run also shows that roll-ups and posts do not wait on
each other.

Floor, in the same run: the same 8 workers insert the same transactions and entries as
bare multi-row INSERTs over a plain psycopg connection into tables of the same shape
without constraints, triggers, locks or balance updates, one commit per transaction.

Hot account: every transaction takes from one firm's available funds.
Then the ledger is filled to 2M entries (bulk-loaded balanced pairs, balances
recomputed and the deltas they cover dropped, as a restore would), `verify-ledger`'s
check runs over everything (imbalance must be 0) and
10k balance reads through `ledger.balance` are timed. If bench/payouts.py exists its
`run()` figures are merged. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import multiprocessing as mp
import os
import queue
import random
import statistics
import sys
import time

_BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_BENCH)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import templates  # noqa: E402

WORKERS = 8
FIRMS, TECHS = 1_000, 10_000
MIX = (("reserve", 30), ("approve", 30), ("payout", 20), ("settle", 20))
FEE_BPS = 1000
ROLL_UP_EVERY = 2.0


def build_accounts(url: str) -> dict:
    """Every account, with bare INSERTs; returns {(kind, owner): id}."""
    import psycopg
    from marketplace.pay.ledger import Kind
    rows = [(Kind.PLATFORM_FEES.value, 0), (Kind.PLATFORM_CLEARING.value, 0)]
    rows += [(k.value, f) for f in range(1, FIRMS + 1)
             for k in (Kind.FIRM_AVAILABLE, Kind.FIRM_RESERVED)]
    rows += [(k.value, t) for t in range(1, TECHS + 1)
             for k in (Kind.TECH_PAYABLE, Kind.TECH_IN_TRANSIT, Kind.TECH_PAID_OUT)]
    with psycopg.connect(templates.dsn(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY ledger_accounts (kind, owner_id, currency, balance_cents, "
                      "entry_count, created_at) FROM STDIN") as copy:
            for kind, owner in rows:
                copy.write_row((kind, owner, "USD", 0, 0, "2030-01-01 00:00:00+00"))
        cur.execute("SELECT kind, owner_id, id FROM ledger_accounts")
        ids = {(kind, owner): aid for kind, owner, aid in cur.fetchall()}
        cur.execute("""
            CREATE TABLE floor_transactions (
                id serial PRIMARY KEY, key varchar(160), memo varchar(200), ref varchar(80),
                posted_at timestamptz);
            CREATE TABLE floor_entries (
                id serial PRIMARY KEY, transaction_id int, account_id int, currency varchar(3),
                amount_cents bigint);""")
    return ids


def workload(ids: dict, worker: int, count: int, hot: bool) -> list[tuple[str, list]]:
    """This worker's transactions: (key, [(account id, amount)])."""
    rng = random.Random(1000 + worker + (500 if hot else 0))
    kinds = [name for name, weight in MIX for _ in range(weight)]
    out = []
    hot_firm = ids[("firm_available", 1)]
    for i in range(count):
        firm, tech = rng.randint(1, FIRMS), rng.randint(1, TECHS)
        x = rng.randint(100, 50_000)
        key = f"{'h' if hot else 'w'}{worker}:{i}"
        if hot:
            lines = [(hot_firm, -x), (ids[("tech_payable", tech)], x)]
        else:
            kind = rng.choice(kinds)
            if kind == "reserve":
                lines = [(ids[("firm_available", firm)], -x), (ids[("firm_reserved", firm)], x)]
            elif kind == "approve":
                fee = (x * FEE_BPS + 5000) // 10000
                lines = [(ids[("firm_reserved", firm)], -x), (ids[("tech_payable", tech)], x - fee),
                         (ids[("platform_fees", 0)], fee)]
            elif kind == "payout":
                lines = [(ids[("tech_payable", tech)], -x), (ids[("tech_in_transit", tech)], x)]
            else:
                lines = [(ids[("tech_in_transit", tech)], -x), (ids[("tech_paid_out", tech)], x)]
        out.append((key, lines))
    return out


def ledger_worker(url, ids, worker, count, hot, barrier, results):
    logging.disable(logging.WARNING)
    from marketplace.extensions import db
    from marketplace.pay import ledger
    from marketplace.pay.ledger import LedgerAccount
    # One connection kept by the worker (no ping per checkout): each post is one business
    # transaction, as a request, a task or a command would commit it.
    app = templates.app_for(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1,
                                                            "pool_pre_ping": False})
    txs = workload(ids, worker, count, hot)
    with app.app_context():
        accounts = {a.id: a for a in db.session.scalars(db.select(LedgerAccount))}
        db.session.expunge_all()
        db.session.rollback()
        latencies = []
        barrier.wait()
        start = time.perf_counter()
        for key, lines in txs:
            t0 = time.perf_counter()
            ledger.post(key, memo="bench", ref="bench",
                        lines=[(accounts[aid], amount) for aid, amount in lines])
            db.session.commit()
            latencies.append(time.perf_counter() - t0)
        results.put((start, time.perf_counter(), latencies))
        db.engine.dispose()


def floor_worker(url, ids, worker, count, hot, barrier, results):
    import psycopg
    txs = workload(ids, worker, count, hot)
    with psycopg.connect(templates.dsn(url)) as conn, conn.cursor() as cur:
        latencies = []
        barrier.wait()
        start = time.perf_counter()
        for key, lines in txs:
            t0 = time.perf_counter()
            cur.execute("INSERT INTO floor_transactions (key, memo, ref, posted_at) "
                        "VALUES (%s, 'bench', 'bench', now()) RETURNING id", (key,))
            tx = cur.fetchone()[0]
            values = ", ".join(["(%s, %s, 'USD', %s)"] * len(lines))
            cur.execute("INSERT INTO floor_entries (transaction_id, account_id, currency, "
                        f"amount_cents) VALUES {values}",
                        [v for aid, amount in lines for v in (tx, aid, amount)])
            conn.commit()
            latencies.append(time.perf_counter() - t0)
        results.put((start, time.perf_counter(), latencies))


def roller(url, stop, results):
    """Roll the deltas up every ROLL_UP_EVERY seconds until told to stop, then once more."""
    logging.disable(logging.WARNING)
    from marketplace.extensions import db
    from marketplace.pay import ledger
    app = templates.app_for(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1})
    runs, folded, slowest = 0, 0, 0.0
    with app.app_context():
        while True:
            last = stop.wait(ROLL_UP_EVERY)
            t0 = time.perf_counter()
            folded += sum(ledger.roll_up().values())
            db.session.commit()
            runs, slowest = runs + 1, max(slowest, time.perf_counter() - t0)
            if last:
                break
        db.engine.dispose()
    results.put({"roll_ups": runs, "rolled_entries": folded, "roll_up_max_ms": slowest * 1000})


def run_workers(target, url, ids, total, hot=False, roll_up=False) -> dict:
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    per = total // WORKERS
    procs = [ctx.Process(target=target, args=(url, ids, w, per, hot, barrier, results))
             for w in range(WORKERS)]
    stop, rolled = ctx.Event(), ctx.Queue()
    rolling = ctx.Process(target=roller, args=(url, stop, rolled)) if roll_up else None
    for p in procs + ([rolling] if rolling else []):
        p.start()
    got = []
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=5))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                for p in procs:
                    p.kill()
                raise SystemExit("a worker failed") from None
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a worker failed ({p.exitcode})")
    extra = {}
    if rolling:
        stop.set()
        extra = rolled.get(timeout=600)
        rolling.join()
        if rolling.exitcode:
            raise SystemExit(f"the roll-up failed ({rolling.exitcode})")
    start = min(s for s, _, _ in got)
    end = max(e for _, e, _ in got)
    lat = sorted(x for _, _, ls in got for x in ls)
    n = len(lat)
    return {"tx": n, "seconds": end - start, "tx_per_s": n / (end - start),
            "p50_ms": lat[n // 2] * 1000, "p99_ms": lat[min(n - 1, int(n * 0.99))] * 1000,
            **extra}


def fill_entries(url: str, target_entries: int) -> int:
    """Bulk-load balanced two-entry transactions up to `target_entries` (triggers off for the
    load, as a restore would), then recompute the running balances from the entries (which
    covers every delta: they go)."""
    import psycopg
    with psycopg.connect(templates.dsn(url)) as conn, conn.cursor() as cur:
        have = cur.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
        pairs = max(0, (target_entries - have) // 2)
        if pairs:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SELECT min(id), max(id) FROM ledger_accounts "
                        "WHERE kind <> 'platform_clearing'")
            lo, hi = cur.fetchone()
            cur.execute("""
                INSERT INTO ledger_transactions (id, key, memo, ref, posted_at)
                SELECT 10000000 + g, 'fill:' || g, 'fill', 'fill', now()
                  FROM generate_series(1::bigint, %(n)s) g""", {"n": pairs})
            cur.execute("""
                INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents)
                SELECT 10000000 + g, a, 'USD', s * (1 + g %% 5000)
                  FROM generate_series(1::bigint, %(n)s) g,
                       LATERAL (VALUES (%(lo)s + (g * 7919) %% (%(hi)s - %(lo)s + 1), -1),
                                       (%(lo)s + (g * 104729 + 1) %% (%(hi)s - %(lo)s + 1), 1))
                               AS v(a, s)
                 WHERE (g * 7919) %% (%(hi)s - %(lo)s + 1)
                       <> (g * 104729 + 1) %% (%(hi)s - %(lo)s + 1)""",
                        {"n": pairs, "lo": lo, "hi": hi})
            cur.execute("""
                UPDATE ledger_accounts a SET balance_cents = s.total, entry_count = s.n
                  FROM (SELECT account_id, sum(amount_cents) AS total, count(*) AS n
                          FROM ledger_entries GROUP BY account_id) s
                 WHERE s.account_id = a.id""")
            cur.execute("DELETE FROM ledger_deltas")
            cur.execute("SET session_replication_role = origin")
        conn.commit()
    with psycopg.connect(templates.dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE ledger_entries, ledger_accounts, ledger_transactions")
        return conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]


def verify_and_read(url: str, reads: int) -> dict:
    from marketplace.extensions import db
    from marketplace.pay import ledger
    from marketplace.pay.ledger import LedgerAccount
    app = templates.app_for(url)
    with app.app_context():
        t0 = time.perf_counter()
        found = ledger.verify()
        trial = ledger.trial_balance()
        verify_s = time.perf_counter() - t0
        accounts = list(db.session.scalars(db.select(LedgerAccount)))
        rng = random.Random(7)
        times = []
        for _ in range(reads):
            acct = rng.choice(accounts)
            t0 = time.perf_counter()
            ledger.balance(acct)
            times.append(time.perf_counter() - t0)
        db.session.rollback()
        db.engine.dispose()
    times.sort()
    return {"imbalance": len(found) + sum(1 for v in trial.values() if v),
            "verify_s": verify_s,
            "balance_read_p95_ms": times[int(len(times) * 0.95)] * 1000,
            "balance_read_p50_ms": times[len(times) // 2] * 1000}


def payouts_figures() -> dict:
    path = os.path.join(_BENCH, "payouts.py")
    if not os.path.exists(path):
        return {}
    spec = importlib.util.spec_from_file_location("bench_payouts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-payouts", action="store_true")
    args = parser.parse_args()
    total = 20_000 if args.quick else 200_000
    entries = 200_000 if args.quick else 2_000_000
    logging.disable(logging.WARNING)
    from tests import services
    url = services.create_postgres_database("bench_ledger")
    try:
        templates.migrate(url)
        ids = build_accounts(url)
        print(f"{len(ids)} accounts; {WORKERS} workers; load average {os.getloadavg()[0]:.1f}")
        main_run = run_workers(ledger_worker, url, ids, total, roll_up=True)
        print(f"ledger: {main_run['tx']} tx in {main_run['seconds']:.1f} s = "
              f"{main_run['tx_per_s']:.0f} tx/s; p50 {main_run['p50_ms']:.2f} ms, "
              f"p99 {main_run['p99_ms']:.2f} ms; {main_run['roll_ups']} roll-ups folded "
              f"{main_run['rolled_entries']} deltas meanwhile (slowest "
              f"{main_run['roll_up_max_ms']:.1f} ms); load average {os.getloadavg()[0]:.1f}")
        floor = run_workers(floor_worker, url, ids, total)
        print(f"floor (bare multi-row INSERTs, psycopg): {floor['tx_per_s']:.0f} tx/s; "
              f"p99 {floor['p99_ms']:.2f} ms -> ledger at "
              f"{100 * main_run['tx_per_s'] / floor['tx_per_s']:.0f}% of the floor")
        hot = run_workers(ledger_worker, url, ids, total // 10, hot=True)
        print(f"hot account (every tx on one firm's funds): {hot['tx']} tx, "
              f"{hot['tx_per_s']:.0f} tx/s; p99 {hot['p99_ms']:.2f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")
        count = fill_entries(url, entries)
        checked = verify_and_read(url, 10_000)
        print(f"{count} entries; verify-ledger {checked['verify_s']:.1f} s, imbalance "
              f"{checked['imbalance']}; balance read p50 {checked['balance_read_p50_ms']:.3f} ms, "
              f"p95 {checked['balance_read_p95_ms']:.3f} ms")
    finally:
        templates.drop_database(url)
    figures = {"bench": "ledger", "tx_per_s": round(main_run["tx_per_s"]),
               "floor_tx_per_s": round(floor["tx_per_s"]),
               "p99_ms": round(main_run["p99_ms"], 2), "hot_tx_per_s": round(hot["tx_per_s"]),
               "imbalance": checked["imbalance"],
               "balance_read_p95_ms": round(checked["balance_read_p95_ms"], 3),
               "payables": None, "payout_transfers": None}
    if not args.no_payouts:
        figures.update(payouts_figures())
        figures["bench"] = "ledger"
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
