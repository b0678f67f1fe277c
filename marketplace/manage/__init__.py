"""Manage: check-in and check-out, tasks and proof, expenses, submission and review."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..web.api import register_api
    from ..web.ui import register_nav, register_page_count, register_panel, register_setting
    from . import api, cli, messages, models, panels, rollups, tasks, views  # noqa: F401

    from . import oversight
    app.register_blueprint(views.bp)
    app.register_blueprint(oversight.bp)
    register_api(app, api.bp)
    app.cli.add_command(cli.manage)
    tasks.init_app(app)
    register_nav(app, "technician", "Today", "manage.today", order=5)
    register_setting(app, "firm", "Work on site", "manage.settings",
                     "When a technician is late, check-in radius, SLA warnings.", order=40)
    register_nav(app, "firm", "Board", "oversight.live_board", order=5)
    register_nav(app, "firm", "KPIs", "oversight.kpi_page", order=70)
    register_nav(app, "firm", "Messages", "manage.messages", order=60)
    register_nav(app, "technician", "Messages", "manage.messages", order=60)
    register_page_count(app, "manage.messages", messages.unread_query, badge=True)
    register_panel(app, "technician", "manage/_panel_today.html", panels.technician_today,
                   order=5)
    register_panel(app, "firm", "manage/_panel_review.html", panels.firm_review, order=15)
