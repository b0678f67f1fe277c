"""`flask verify sweep`: the expiry sweep from cron or by hand."""
from __future__ import annotations

import time
from datetime import datetime

import click
from flask.cli import AppGroup

verify_cli = AppGroup("verify", help="Credential checks: the expiry sweep.")


@verify_cli.command("sweep")
@click.option("--on", "on", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Sweep as of this date (YYYY-MM-DD).")
def sweep_command(on: datetime | None) -> None:
    """Send expiry reminders, expire lapsed credentials, suspend technicians left with none.

    A progress bar goes to stderr when it is a terminal; the last line sums it up."""
    from ..core.progress import ProgressBar
    from .expiry import run_sweep
    started = time.monotonic()
    with ProgressBar("Expiry sweep") as bar:
        result = run_sweep(on.date() if on else None, progress=bar)
    click.echo(f"sweep {result.on.isoformat()}: {result.reminders} reminders, "
               f"{result.expired} expired, {result.suspended} suspended "
               f"in {time.monotonic() - started:.2f} s")
