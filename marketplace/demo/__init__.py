"""Demo data for `make run`: realistic firms, technicians and work, built through the services.

Each module seeds one stage and hands what it made to the next (`world`); the
order is the stages' own order.
"""
from __future__ import annotations

import random

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from ..extensions import db

SEED_SEED = 20261123


def seed_all(rng: random.Random) -> dict:
    """Run every stage's seeder in stage order; returns the world they built."""
    from . import accounts, engage, find, verify
    world: dict = {}
    for module in (accounts, verify, find, engage):
        world.update(module.seed(rng, world))
    return world


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if the database has users.")
def seed_demo(force: bool) -> None:
    """Load realistic demo data into an empty database."""
    from ..accounts.models import User
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("Database already has data; leaving it alone.")
        return
    current_app.config["MAIL_SUPPRESS"] = True  # demo people get no email
    world = seed_all(random.Random(SEED_SEED))
    click.echo(f"Demo data loaded: {len(world.get('firms', []))} firms, "
               f"{len(world.get('technicians', []))} technicians.")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
