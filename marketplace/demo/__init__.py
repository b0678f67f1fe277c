"""Demo data for `make run`: realistic firms, technicians and work, built through the services.

Each module seeds one stage and hands what it made to the next (`world`); the
order is the stages' own order.
"""
from __future__ import annotations

import random
import time

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from ..core.progress import Progress, ProgressBar, report
from ..core.transactions import on_commit, on_rollback
from ..extensions import db

SEED_SEED = 20261123


def seed_all(rng: random.Random, progress: Progress | None = None) -> dict:
    """Run every stage's seeder in stage order; returns the world they built."""
    from . import accounts, engage, find, manage, pay_rails, verify
    steps = [(accounts, "accounts"), (verify, "credentials"), (find, "assignments"),
             (engage, "offers"), (manage, "work on site")]
    world: dict = {}
    for done, (module, what) in enumerate(steps):
        report(progress, done, len(steps), what)
        world.update(module.seed(rng, world))
        if module is accounts:
            # Funds and payout accounts right after the accounts: routing needs the funds.
            world.update(pay_rails.seed(rng, world))
    report(progress, len(steps), len(steps), "done")
    return world


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if the database has users.")
def seed_demo(force: bool) -> None:
    """Load realistic demo data into an empty database (a progress bar on a terminal)."""
    from ..accounts.models import User
    from .accounts import DEMO_PASSWORD
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("Database already has data; leaving it alone "
                   "(make reset-demo starts again from scratch).")
        return
    # Demo people get no email: suppressed until the seed's outbox has been relayed
    # (after commit) or dropped (rollback), then as it was.
    app, suppressed = current_app._get_current_object(), current_app.config.get("MAIL_SUPPRESS")

    def restore() -> None:
        app.config["MAIL_SUPPRESS"] = suppressed

    app.config["MAIL_SUPPRESS"] = True
    on_rollback(restore)
    started = time.monotonic()
    with ProgressBar("Loading the demo") as bar:
        world = seed_all(random.Random(SEED_SEED), progress=bar)
    on_commit(restore)
    work = sum(len(jobs) for jobs in world.get("work", {}).values())
    click.echo(f"Demo data loaded in {time.monotonic() - started:.1f} s: "
               f"{len(world.get('firms', []))} firms, "
               f"{len(world.get('technicians', []))} technicians, "
               f"{len(world.get('assignments', [])) + work} assignments, "
               f"{len(world.get('credentials', []))} credentials.")
    click.echo(f"Password for every demo account: {DEMO_PASSWORD}. "
               "Start with owner@northstar.example and tech001@onsite.example "
               "(README.md, \"Try this first\").")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
