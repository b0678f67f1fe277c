"""Pay: the ledger, funding and reserves, payables, payouts, Stripe webhooks, statements."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import books, payouts, rails
    rails.init_app(app)
    books.init_app(app)
    payouts.init_app(app)
