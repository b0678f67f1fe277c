"""Payout run benchmark, on PostgreSQL against the Stripe sandbox over HTTP.

    python bench/payouts.py             # 5,000 due payables (500 technicians x 10)
    python bench/payouts.py --quick     # 1,000

Data: one firm's approved work, 500 onboarded technicians with connected accounts at
the sandbox, each payable on the ledger (clearing -> technician payable) and due today.
The sandbox runs in this process (its HTTP server on a loopback port); payout workers
are subprocesses (`--worker`: the app, `transfers.run` in a loop until nothing is due
or pending), two at a time, each with a 3 s lease. A worker is killed with SIGKILL once
a third of the transfers exist at the sandbox, another (the replacement started then
included) once two thirds do; their replacements resume and finish. Checked after: exactly one transfer per
payable at the sandbox (no group twice), every payout intent sent with its own
transfer id, the ledger verified and its trial balance zero.

Rate: payables / seconds from the first worker's start to the last transfer recorded,
kills and lease waits included; and an uninterrupted run of the same kind on fresh
data. Floor, in the same run: bare `create_transfer` calls through the same adapter
to the same sandbox (no database). The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time

_BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_BENCH)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import templates  # noqa: E402

TECHS = 500
WORKERS = 2
SECRET = "sk_test_bench_payouts"
WORKER_CONFIG = {"STRIPE_SECRET_KEY": SECRET, "PAYOUTS_AFTER_COMMIT": False,
                 "OUTBOX_RELAY_AFTER_COMMIT": False, "PAYOUT_LEASE_SECONDS": 3,
                 "STRIPE_EMBEDDED_SANDBOX": False, "STRIPE_TIMEOUT_SECONDS": 10.0}


def _app(url: str, stripe_url: str):
    return templates.app_for(url, STRIPE_API_BASE=stripe_url, **WORKER_CONFIG)


def build(url: str, stripe_url: str, sandbox, payables: int) -> None:
    """One firm, TECHS onboarded technicians, `payables` approved assignments due today."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from marketplace.accounts.models import (AccountKind, Firm, FirmVerification,
                                             TechnicianProfile, User)
    from marketplace.core import clock
    from marketplace.extensions import db
    from marketplace.find.models import Assignment, AssignmentStatus
    from marketplace.integrations import payments
    from marketplace.pay import ledger
    from marketplace.pay.payables import Payable, PayableStatus
    from marketplace.pay.rails_models import ConnectedAccount

    app = _app(url, stripe_url)
    per_tech = payables // TECHS
    with app.app_context():
        now = clock.now()
        firm_id = db.session.execute(insert(Firm).values(
            name="Bench Firm", slug="bench-firm", timezone="America/Chicago",
            verification_status=FirmVerification.VERIFIED).returning(Firm.id)).scalar_one()
        owner_id = db.session.execute(insert(User).values(
            email="owner@bench.example", name="Bench Owner", password_hash="x",
            kind=AccountKind.FIRM).returning(User.id)).scalar_one()
        db.session.execute(insert(User), [
            {"email": f"tech{i}@bench.example", "name": f"Tech {i}", "password_hash": "x",
             "kind": AccountKind.TECHNICIAN} for i in range(TECHS)])
        users = db.session.scalars(select(User.id).where(User.email.like("tech%@bench.example"))
                                   .order_by(User.id)).all()
        db.session.execute(insert(TechnicianProfile), [{"user_id": u} for u in users])
        techs = db.session.scalars(select(TechnicianProfile.id)
                                   .order_by(TechnicianProfile.id)).all()
        start = now - timedelta(days=1)
        rows = [{"firm_id": firm_id, "created_by_id": owner_id, "title": f"Job {t}-{k}",
                 "address": "Dallas, TX", "lat": 32.78, "lon": -96.8,
                 "timezone": "America/Chicago", "starts_at": start,
                 "ends_at": start + timedelta(hours=2), "budget_cents": 20000,
                 "rate_cents": 20000, "status": AssignmentStatus.APPROVED, "assignee_id": t}
                for t in techs for k in range(per_tech)]
        db.session.execute(insert(Assignment), rows)
        jobs = db.session.execute(select(Assignment.id, Assignment.assignee_id)
                                  .order_by(Assignment.id)).all()
        clearing = ledger.account(ledger.Kind.PLATFORM_CLEARING, None)
        amounts = {t: 18000 * per_tech for t in techs}
        tx_ids = {}
        for chunk in range(0, len(techs), 250):
            part = techs[chunk:chunk + 250]
            lines = [(clearing, -sum(amounts[t] for t in part))] + [
                (ledger.account(ledger.Kind.TECH_PAYABLE, t), amounts[t]) for t in part]
            tx = ledger.post(f"bench-approvals:{chunk}", memo="Approved (bench)",
                             ref="bench", lines=lines)
            tx_ids.update({t: tx.id for t in part})
        db.session.execute(insert(Payable), [
            {"assignment_id": a, "technician_id": t, "firm_id": firm_id, "labour_cents": 20000,
             "expenses_cents": 0, "fee_cents": 2000, "amount_cents": 18000, "currency": "USD",
             "approved_at": now, "due_on": now.date() - timedelta(days=1),
             "status": PayableStatus.PENDING, "transaction_id": tx_ids[t]} for a, t in jobs])
        gw = payments.gateway()
        accounts = []
        for t in techs:
            acct = gw.create_connected_account(email=f"t{t}@bench.example", ref=f"t:{t}",
                                               key=f"bench-acct-{t}")
            sandbox.complete_onboarding(acct)
            accounts.append({"technician_id": t, "stripe_account_id": acct,
                             "payouts_enabled": True, "details_submitted": True})
        db.session.execute(insert(ConnectedAccount), accounts)
        db.session.commit()
        db.engine.dispose()
    sandbox.fund_platform(payables * 18000 * 2)


def worker(url: str, stripe_url: str) -> None:
    """Pay out until nothing is due or pending (the lease of a killed run included)."""
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.pay import transfers
    from marketplace.pay.payables import Payable, PayableStatus
    from marketplace.pay.payout_models import IntentStatus, PayoutIntent
    logging.disable(logging.WARNING)
    app = _app(url, stripe_url)
    with app.app_context():
        while True:
            transfers.run()
            left = db.session.scalar(select(func.count(PayoutIntent.id)).where(
                PayoutIntent.status == IntentStatus.PENDING)) + db.session.scalar(
                select(func.count(Payable.id)).where(Payable.status == PayableStatus.PENDING))
            db.session.rollback()
            if not left:
                return
            time.sleep(0.2)


def _spawn(url: str, stripe_url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", url,
                             stripe_url], cwd=ROOT)


def _transfers(sandbox) -> int:
    with sandbox.store.lock:
        return len(sandbox.store.listing("transfer"))


def payout_run(sandbox, url: str, stripe_url: str, payables: int, kills: int) -> dict:
    """WORKERS workers pay `payables`; at each of `kills` shares one is SIGKILLed and
    another started in its place."""
    started = time.perf_counter()
    killed = 0
    procs = [_spawn(url, stripe_url) for _ in range(WORKERS)]
    while procs:
        for proc in list(procs):
            if proc.poll() is not None:
                if proc.returncode != 0:
                    raise SystemExit(f"payout worker failed with {proc.returncode}")
                procs.remove(proc)
        if procs and killed < kills and \
                _transfers(sandbox) >= payables * (killed + 1) // (kills + 1):
            victim = procs.pop(killed % len(procs))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed += 1
            procs.append(_spawn(url, stripe_url))
        time.sleep(0.05)
        if time.perf_counter() - started > 3600:
            for proc in procs:
                proc.kill()
            raise SystemExit("payout run did not finish in an hour")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kills": killed, "per_s": payables / seconds}


def check(url: str, stripe_url: str, sandbox, payables: int) -> dict:
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.pay import ledger
    from marketplace.pay.payout_models import IntentStatus, PayoutIntent
    with sandbox.store.lock:
        made = list(sandbox.store.listing("transfer"))
    groups = [t["transfer_group"] for t in made]
    with _app(url, stripe_url).app_context():
        sent = db.session.scalar(select(func.count(PayoutIntent.id)).where(
            PayoutIntent.status == IntentStatus.SENT))
        ids = db.session.scalar(select(func.count(func.distinct(PayoutIntent.transfer_id))))
        recorded = set(db.session.scalars(select(PayoutIntent.transfer_id)))
        differences = ledger.verify()
        trial = ledger.trial_balance()
        db.engine.dispose()
    return {"transfers": len(made), "groups_paid_twice": len(groups) - len(set(groups)),
            "intents_sent": sent, "distinct_transfer_ids": ids,
            "unrecorded": len({t["id"] for t in made} - recorded),
            "imbalance": len(differences) + sum(1 for v in trial.values() if v),
            "expected": payables}


def floor(stripe_url: str, sandbox, count: int) -> float:
    """Bare create_transfer calls through the adapter to the same sandbox: transfers/s."""
    from marketplace.integrations import payments
    app = templates.app_for("postgresql://unused/none", STRIPE_API_BASE=stripe_url,
                            **WORKER_CONFIG)
    with app.app_context():
        gw = payments.gateway()
        acct = gw.create_connected_account(email="floor@bench.example", ref="floor",
                                           key="bench-floor-acct")
        sandbox.complete_onboarding(acct)
        sandbox.fund_platform(count * 100)
        started = time.perf_counter()
        for i in range(count):
            gw.create_transfer(amount_cents=100, currency="USD", destination=acct,
                               transfer_group=f"floor:{i}", key=f"bench-floor-{i}", metadata={})
        return count / (time.perf_counter() - started)


def _fresh(payables: int, label: str):
    """A migrated database with the data, and the sandbox server that goes with it."""
    from marketplace.integrations.stripe_sandbox import Sandbox, SandboxServer
    from tests import services
    url = services.create_postgres_database(f"bench_payouts_{label}")
    templates.migrate(url)
    server = SandboxServer(Sandbox(webhook_secret="whsec_bench")).start()
    build(url, server.url, server.sandbox, payables)
    return url, server


def run(quick: bool = False) -> dict:
    """The figures (bench/ledger.py merges them into its own)."""
    logging.disable(logging.WARNING)
    payables = 1_000 if quick else 5_000
    url, server = _fresh(payables, "killed")
    try:
        killed = payout_run(server.sandbox, url, server.url, payables, kills=2)
        checked = check(url, server.url, server.sandbox, payables)
        floor_rate = floor(server.url, server.sandbox, 500)
    finally:
        server.stop()
        templates.drop_database(url)
    print(f"payout run: {payables} due payables, worker SIGKILLed {killed['kills']} times "
          f"and resumed: {killed['seconds']:.1f} s = {killed['per_s']:.0f} transfers/s")
    print(f"checked: {checked['transfers']} transfers at the sandbox for {payables} payables; "
          f"{checked['groups_paid_twice']} paid twice; {checked['intents_sent']} intents sent "
          f"with {checked['distinct_transfer_ids']} distinct transfer ids; "
          f"{checked['unrecorded']} unrecorded; ledger imbalance {checked['imbalance']}")
    url, server = _fresh(payables, "clean")
    try:
        clean = payout_run(server.sandbox, url, server.url, payables, kills=0)
        clean_check = check(url, server.url, server.sandbox, payables)
    finally:
        server.stop()
        templates.drop_database(url)
    print(f"uninterrupted: {clean['per_s']:.0f} transfers/s "
          f"({clean_check['transfers']} transfers); floor (bare create_transfer calls to the "
          f"same sandbox, no database): {floor_rate:.0f} transfers/s -> the run at "
          f"{100 * clean['per_s'] / floor_rate:.0f}% of the floor")
    ok = (checked["transfers"] == payables and checked["groups_paid_twice"] == 0
          and checked["intents_sent"] == payables == checked["distinct_transfer_ids"]
          and checked["unrecorded"] == 0 and checked["imbalance"] == 0
          and clean_check["transfers"] == payables)
    return {"bench": "payouts", "payables": payables,
            "payout_transfers": checked["transfers"], "payout_kills": killed["kills"],
            "payout_transfers_per_s": round(killed["per_s"], 1),
            "payout_clean_transfers_per_s": round(clean["per_s"], 1),
            "payout_floor_transfers_per_s": round(floor_rate, 1),
            "payout_paid_twice": checked["groups_paid_twice"],
            "payout_imbalance": checked["imbalance"], "payout_exactly_once": ok}


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick)))


if __name__ == "__main__":
    main()
