"""Accounts: users, firms and their members, technicians, API tokens."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..extensions import login_manager
    from ..web.api import register_api, register_authenticator
    from ..web.ui import register_nav, register_panel, register_setting
    from . import admin_views, api, panels, services, tokens, views

    login_manager.user_loader(services.load_session_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    register_api(app, api.bp)
    register_authenticator(app, tokens.authenticate_token)

    register_nav(app, "firm", "Home", "dashboards.firm", order=0)
    register_setting(app, "firm", "Team", "accounts.team",
                     "Members, roles, budget limits and invitations.", order=10)
    register_setting(app, "any", "API tokens", "accounts.api_tokens",
                     "Personal tokens for the JSON API.", order=90)
    for role in ("firm", "technician", "admin"):
        register_nav(app, role, "Settings", "dashboards.settings", order=95)
    register_nav(app, "technician", "Home", "dashboards.technician", order=0)
    register_nav(app, "technician", "Profile", "accounts.profile", order=80)
    register_nav(app, "admin", "Home", "dashboards.admin", order=0)
    register_nav(app, "admin", "Users", "admin.users", order=40)
    register_setting(app, "admin", "Audit log", "admin.audit",
                     "Who did what and when: by person, firm, action, subject and day.",
                     order=20)

    register_panel(app, "technician", "accounts/_panel_technician_profile.html",
                   panels.technician_profile, order=90)
    register_panel(app, "firm", "accounts/_panel_firm_team.html", panels.firm_team, order=90)
    register_panel(app, "admin", "accounts/_panel_platform.html", panels.platform_counts,
                   order=10)
