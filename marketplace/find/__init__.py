"""Find: assignments, templates, talent pools, geocoding, matching and the work feed."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..integrations.geocoding import use_cache
    from ..web.api import register_api
    from ..web.ui import register_nav, register_panel
    from . import (  # noqa: F401  (tables known to migrations)
        api,
        attachment_models,
        cli,
        geocache,
        models,
        panels,
        subscribers,
        views,
    )
    subscribers.init_app(app)
    use_cache(app, geocache.DatabaseGeocodeCache())
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.find)
    register_api(app, api.bp)
    register_nav(app, "firm", "Assignments", "find.assignments", order=10)
    register_nav(app, "firm", "Pools", "find.pool_list", order=30)
    register_nav(app, "technician", "Find work", "find.feed", order=10)
    register_nav(app, "technician", "Pools", "find.my_pools", order=25)
    register_panel(app, "firm", "find/_panel_firm.html", panels.firm_assignments, order=20)
    register_panel(app, "technician", "find/_panel_feed.html", panels.technician_feed,
                   order=20)
