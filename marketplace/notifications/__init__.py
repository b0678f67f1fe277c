"""In-app notifications (with email), below every stage so any stage can notify."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..core.outbox import register_channel
    from ..web.api import register_api
    from ..web.ui import register_page_context
    from . import api, delivery, services, views
    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    register_channel(app, "email", delivery.EMAIL)
    register_page_context(app, lambda user: {
        "unread_notifications": services.unread_count(user)})
