"""Verify: credential types, submissions, review, requirement sets, expiry."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

verify_cli = AppGroup("verify", help="Credential checks: the expiry sweep.")


@verify_cli.command("sweep")
@click.option("--on", "on", default=None, help="Sweep as of this date (YYYY-MM-DD).")
def sweep_command(on: str | None) -> None:
    """Send expiry reminders, expire lapsed credentials, suspend technicians left with none."""
    from datetime import date

    from ..extensions import db
    from .expiry import run_sweep
    result = run_sweep(date.fromisoformat(on) if on else None)
    db.session.commit()
    click.echo(f"sweep {result.on.isoformat()}: {result.reminders} reminders, "
               f"{result.expired} expired, {result.suspended} suspended")


def init_app(app: Flask) -> None:
    from ..api import register_api
    from ..jobs import BEAT_SCHEDULE
    from ..ui import register_nav, register_panel
    from . import api, models, panels, tasks, views  # noqa: F401  (tables, tasks known)

    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    app.cli.add_command(verify_cli)
    from celery.schedules import crontab
    # Daily at 02:15 UTC; the sweep is idempotent, so a missed or doubled run is harmless.
    BEAT_SCHEDULE["verify-sweep-daily"] = {"task": "marketplace.verify.sweep",
                                           "schedule": crontab(minute=15, hour=2)}
    register_nav(app, "technician", "Credentials", "verify.my_credentials", order=30)
    register_nav(app, "admin", "Review", "verify.review_queue", order=10)
    register_nav(app, "admin", "Credential types", "verify.types", order=20)
    register_nav(app, "admin", "Requirements", "verify.requirement_sets", order=30)
    register_nav(app, "firm", "Technicians", "verify.technician_status", order=40)
    register_nav(app, "firm", "Requirements", "verify.requirement_sets", order=50)
    register_nav(app, "firm", "Verification", "verify.firm_details", order=85)
    register_nav(app, "admin", "Firms", "verify.firm_queue", order=15)
    register_panel(app, "technician", "verify/_panel_technician.html",
                   panels.technician_credentials, order=20)
    register_panel(app, "admin", "verify/_panel_review.html", panels.review_counts, order=20)
