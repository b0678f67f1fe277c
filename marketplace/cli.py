"""flask commands: demo data, admins, job checks."""
from __future__ import annotations

import importlib
import random

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from .extensions import db


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if the database has users.")
def seed_demo(force: bool) -> None:
    """Load realistic demo data into an empty database."""
    from . import STAGES
    from .accounts.models import User
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("Database already has data; leaving it alone.")
        return
    rng = random.Random(20261123)
    current_app.config["MAIL_SUPPRESS"] = True  # demo people get no email
    world: dict = {}
    for stage in STAGES:
        try:
            module = importlib.import_module(f"marketplace.{stage}.seed")
        except ModuleNotFoundError as exc:
            if exc.name != f"marketplace.{stage}.seed":
                raise
            continue
        world.update(module.seed(rng, world))
    db.session.commit()
    click.echo(f"Demo data loaded: {len(world.get('firms', []))} firms, "
               f"{len(world.get('technicians', []))} technicians.")


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Platform Admin")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform admin (the only way admins come to exist)."""
    from .accounts.services import create_admin as create
    from .errors import ValidationFailed
    try:
        user = create(email=email, name=name, password=password)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(exc.fields.values()) or exc.message) from None
    click.echo(f"Admin {user.email} created.")


@click.command("jobs-heartbeat")
@click.option("--timeout", default=10.0)
def jobs_heartbeat(timeout: float) -> None:
    """Send the heartbeat task and wait for a worker (or eager mode) to answer."""
    from .jobs import heartbeat
    result = heartbeat.delay("cli").get(timeout=timeout)
    click.echo(f"heartbeat: {result}")


def init_app(app: Flask) -> None:
    for command in (seed_demo, create_admin, jobs_heartbeat):
        app.cli.add_command(command)
