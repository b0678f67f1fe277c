"""Find: assignments, templates, talent pools, geocoding, matching and the work feed."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..integrations.geocoding import use_cache
    from ..verify.reports import register_work_at_risk
    from ..web.api import register_api
    from ..web.sections import TECHNICIAN_PROFILE, register_section
    from ..web.ui import register_nav, register_panel
    from . import (  # noqa: F401  (tables known to migrations)
        api,
        attachment_models,
        cli,
        geocache,
        models,
        panels,
        people_views,
        profile,
        subscribers,
        views,
        work_at_risk,
    )
    subscribers.init_app(app)
    use_cache(app, geocache.DatabaseGeocodeCache())
    app.register_blueprint(views.bp)
    app.register_blueprint(people_views.bp)
    # Every page links a technician's name to their profile through these.
    app.jinja_env.globals.update(technician_url=people_views.technician_url,
                                 technicians_url=people_views.technicians_url)
    register_section(app, TECHNICIAN_PROFILE, "standing", "Standing",
                     "find/_profile_standing.html", profile.standing_section, order=5)
    register_section(app, TECHNICIAN_PROFILE, "assignments", "Assignments",
                     "find/_profile_assignments.html", profile.assignments_section, order=20)
    register_work_at_risk(app, work_at_risk.work_at_risk)
    app.cli.add_command(cli.find)
    register_api(app, api.bp)
    register_nav(app, "firm", "Assignments", "find.assignments", order=10)
    register_nav(app, "firm", "Pools", "find.pool_list", order=30)
    register_nav(app, "firm", "Technicians", "people.technicians", order=40)
    register_nav(app, "technician", "Find work", "find.feed", order=10)
    register_nav(app, "technician", "Pools", "find.my_pools", order=25)
    register_panel(app, "firm", "find/_panel_firm.html", panels.firm_assignments, order=20)
    register_panel(app, "technician", "find/_panel_feed.html", panels.technician_feed,
                   order=20)
