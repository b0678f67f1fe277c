"""Verify: credential types, submissions, review, requirement sets, expiry."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (tables known to migrations)
