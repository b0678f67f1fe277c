"""`flask engage advance`: run due routing stages and expire offers (cron-friendly)."""
from __future__ import annotations

import click


@click.group("engage")
def engage() -> None:
    """Routing and offers."""


@engage.command("advance")
def advance() -> None:
    from .offers import expire_offers
    from .routing import advance_routing
    started = advance_routing()
    expired = expire_offers()
    click.echo(f"routing stages started: {started}; offers expired: {expired}")
