"""`flask notifications digest`: send the daily digests now (for cron)."""
from __future__ import annotations

import click


@click.group("notifications")
def notifications_cli() -> None:
    """Notifications: the daily digest."""


@notifications_cli.command("digest")
def digest() -> None:
    from .services import send_digests
    click.echo(f"digests sent: {send_digests()}")
