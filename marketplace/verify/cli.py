"""`flask verify sweep`: the expiry sweep from cron or by hand."""
from __future__ import annotations

import click
from flask.cli import AppGroup

verify_cli = AppGroup("verify", help="Credential checks: the expiry sweep.")


@verify_cli.command("sweep")
@click.option("--on", "on", default=None, help="Sweep as of this date (YYYY-MM-DD).")
def sweep_command(on: str | None) -> None:
    """Send expiry reminders, expire lapsed credentials, suspend technicians left with none."""
    from datetime import date

    from .expiry import run_sweep
    result = run_sweep(date.fromisoformat(on) if on else None)
    click.echo(f"sweep {result.on.isoformat()}: {result.reminders} reminders, "
               f"{result.expired} expired, {result.suspended} suspended")
