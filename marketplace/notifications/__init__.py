"""In-app notifications (with email), below every stage so any stage can notify."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..core.outbox import register_channel
    from ..core.signals import assignment_transitioned, subscribe
    from ..web.api import register_api
    from ..web.ui import register_nav, register_page_count, register_setting
    from . import api, cli, delivery, events, services, tasks, views, webhooks
    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    register_channel(app, "email", delivery.EMAIL)
    register_channel(app, "webhook", webhooks.WEBHOOK)
    app.cli.add_command(cli.notifications_cli)
    tasks.init_app(app)
    subscribe(app, assignment_transitioned, events.on_transition)
    register_setting(app, "firm", "Webhooks", "notifications.webhooks",
                     "Endpoints your systems use to hear about every change.", order=60)
    register_setting(app, "any", "Notifications", "notifications.preferences_page",
                     "What reaches you in the app, by email or in a daily digest.", order=20)
    register_nav(app, "admin", "Outbox", "notifications.outbox_admin", order=90)
    register_page_count(app, "unread_notifications", services.unread_query)
