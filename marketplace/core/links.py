"""Links to the app's own pages from services, tasks and emails (no request needed).

Built from the URL map, so a link cannot drift from its route; absolute ones
start with PUBLIC_BASE_URL.
"""
from __future__ import annotations

from flask import current_app


def path_for(endpoint: str, **values) -> str:
    return current_app.url_map.bind("localhost").build(endpoint, values)


def external_url(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path_for(endpoint, **values)
