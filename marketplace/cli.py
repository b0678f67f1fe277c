"""The `flask` commands: the one transaction boundary for them, and the platform's own.

Stages add their command groups in `init_app`; `init_app` here runs last and
wraps every command of this package so that it commits once when it succeeds
and rolls back on any error (a rule failure becomes a plain error message).
"""
from __future__ import annotations

from functools import wraps

import click
from flask import Flask

from .errors import DomainError
from .extensions import db


def _transactional(callback):
    @wraps(callback)
    def wrapped(*args, **kwargs):
        try:
            result = callback(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(
                "; ".join(exc.fields.values()) or exc.message) from None
        except BaseException:
            db.session.rollback()
            raise
    return wrapped


def _wrap(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _wrap(sub)
    elif command.callback is not None and getattr(command.callback, "__module__", "").startswith(
            "marketplace.") and not getattr(command, "_marketplace_wrapped", False):
        command.callback = _transactional(command.callback)
        command._marketplace_wrapped = True


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Platform Admin")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform admin (the only way admins come to exist)."""
    from .accounts.services import create_admin as create
    user = create(email=email, name=name, password=password)
    click.echo(f"Admin {user.email} created.")


@click.command("jobs-heartbeat")
@click.option("--timeout", default=10.0)
def jobs_heartbeat(timeout: float) -> None:
    """Send the heartbeat task and wait for a worker (or eager mode) to answer."""
    from .jobs import heartbeat
    result = heartbeat.delay("cli").get(timeout=timeout)
    click.echo(f"heartbeat: {result}")


@click.group("outbox")
def outbox_cli() -> None:
    """The outbox of email and webhooks: deliver what is due (for cron)."""


@outbox_cli.command("deliver")
@click.option("--channel", default=None, help="Only this channel (email, webhook, ...).")
def outbox_deliver(channel: str | None) -> None:
    """Deliver every due message now; failures wait for their next attempt."""
    from .core import outbox
    result = outbox.relay(channel=channel)
    click.echo(f"outbox: {result.sent} sent, {result.failed} to retry, {result.dead} given up")


def init_app(app: Flask) -> None:
    """Call last: wraps every command the stages registered."""
    for command in (create_admin, jobs_heartbeat, outbox_cli):
        app.cli.add_command(command)
    for command in app.cli.commands.values():
        _wrap(command)
