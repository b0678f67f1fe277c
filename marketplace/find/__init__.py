"""Find: assignments, templates, talent pools, geocoding, matching and the work feed."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (tables known to migrations)
    from ..api import register_api
    from . import api, subscribers
    subscribers.connect()
    register_api(app, api.bp)
