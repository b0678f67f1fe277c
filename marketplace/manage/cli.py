"""`flask manage sweep` (no-shows) and `flask manage deliver` (the outbox), for cron."""
from __future__ import annotations

import click


@click.group("manage")
def manage() -> None:
    """Work on site: arrival checks and deliveries."""


@manage.command("sweep")
def sweep() -> None:
    """No-shows (windows ended with no check-in) and SLA warnings and breaches."""
    from . import sla
    from .arrival import sweep as run
    result = run()
    events = sla.sweep()
    breaches = sum(1 for e in events if e[2] == "breach")
    click.echo(f"no-shows marked: {len(result.no_shows)}; SLA warnings: "
               f"{len(events) - breaches}, breaches: {breaches}")


@manage.command("rollups")
@click.option("--firm", type=int, help="Only this firm's (by id).")
def rebuild_rollups(firm: int | None) -> None:
    """Rebuild the KPI rollups from the recorded events."""
    from .rollups import rebuild
    click.echo(f"KPI facts rebuilt: {rebuild(firm)}")


@manage.command("deliver")
def deliver() -> None:
    """Deliver every due email and webhook of the outbox now."""
    from ..core import outbox
    result = outbox.relay()
    click.echo(f"outbox: {result.sent} sent, {result.failed} to retry, {result.dead} given up")
