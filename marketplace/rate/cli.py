"""`flask rate recompute` (every scorecard from the events, with a progress bar) and
`flask rate sweep` (reveal due ratings, collect no-shows), for cron."""
from __future__ import annotations

import time
from datetime import timedelta

import click


@click.group("rate")
def rate() -> None:
    """Ratings, scorecards and the reliability score."""


@rate.command("recompute")
@click.option("--rederive", is_flag=True, help="Derive every event from the records first.")
def recompute(rederive: bool) -> None:
    """Rebuild every technician's and firm's scorecard and the platform means."""
    from ..core.progress import ProgressBar
    from .recompute import recompute as run
    started = time.monotonic()
    with ProgressBar("Scorecards") as bar:
        result = run(rederive=rederive, progress=bar)
    click.echo(f"scorecards: {result.technicians} technicians, {result.firms} firms"
               + (f", events of {result.events_rebuilt} assignments derived" if rederive else "")
               + f" in {time.monotonic() - started:.2f} s")


@rate.command("sweep")
def sweep() -> None:
    """Reveal ratings whose window closed; count the no-shows manage marked."""
    from ..core import clock
    from . import events, ratings
    revealed = ratings.reveal_due()
    collected = events.collect_no_shows(clock.now() - timedelta(days=8))
    click.echo(f"ratings revealed: {revealed}; no-shows counted: {collected}")
