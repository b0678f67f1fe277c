"""Rate: two-way ratings, scorecards, the reliability score and its ranking term."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    pass
