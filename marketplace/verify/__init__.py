"""Verify: credential types, submissions, review, requirement sets, expiry."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from celery.schedules import crontab

    from ..jobs import add_beat
    from ..web.api import register_api
    from ..web.sections import TECHNICIAN_PROFILE, register_section
    from ..web.ui import register_nav, register_panel, register_setting
    from . import api, cli, models, panels, profile, report_views, tasks, views  # noqa: F401

    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    app.cli.add_command(cli.verify_cli)
    # Daily at 02:15 UTC; the sweep is idempotent, so a missed or doubled run is harmless.
    add_beat(app, "verify-sweep-daily", "marketplace.verify.sweep", crontab(minute=15, hour=2))
    register_nav(app, "technician", "Credentials", "verify.my_credentials", order=30)
    register_nav(app, "admin", "Review", "verify.review_queue", order=10)
    register_nav(app, "admin", "Credential types", "verify.types", order=20)
    register_nav(app, "admin", "Requirements", "verify.requirement_sets", order=30)
    register_nav(app, "firm", "Compliance", "verify.compliance_report", order=45)
    register_nav(app, "admin", "Compliance", "verify.compliance_report", order=35)
    register_section(app, TECHNICIAN_PROFILE, "credentials", "Credentials",
                     "verify/_profile_credentials.html", profile.credentials_section, order=10)
    register_nav(app, "firm", "Requirements", "verify.requirement_sets", order=50)
    register_setting(app, "firm", "Verification", "verify.firm_details",
                     "Your legal name, EIN and address, checked by the platform.", order=30)
    register_nav(app, "admin", "Firms", "verify.firm_queue", order=15)
    register_panel(app, "technician", "verify/_panel_technician.html",
                   panels.technician_credentials, order=20)
    register_panel(app, "admin", "verify/_panel_review.html", panels.review_counts, order=20)
