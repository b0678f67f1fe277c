"""In-app notifications (with email), below every stage so any stage can notify."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register_api
    from . import api, views
    app.register_blueprint(views.bp)
    register_api(app, api.bp)
