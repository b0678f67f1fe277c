"""The one transaction boundary for requests.

Every view runs inside it: the request's work commits once, after the view
returns, and rolls back if the view (or the commit) raises; the error
handlers render the failure. Views and services never commit. Messages for
the person (`flash_after_commit`) are only shown once the work they report
is committed.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Flask, flash

from ..core.transactions import on_commit
from ..extensions import db


def transactional(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
            db.session.commit()
            return response
        except BaseException:
            db.session.rollback()
            raise
    wrapped.__marketplace_transactional__ = True
    return wrapped


def flash_after_commit(message: str, category: str = "message") -> None:
    on_commit(lambda: flash(message, category))


def init_app(app: Flask) -> None:
    """Wrap every registered view; call once all blueprints are registered."""
    for endpoint, view in list(app.view_functions.items()):
        if not getattr(view, "__marketplace_transactional__", False):
            app.view_functions[endpoint] = transactional(view)
