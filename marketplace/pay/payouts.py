"""Payouts, instant payouts, statements, reconciliation and exports: wiring."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..core.signals import assignment_approved, subscribe
    from ..web.api import register_api
    from ..web.sections import OFFER, register_section
    from ..web.ui import register_nav, register_panel
    from . import api, payout_cli, payout_events, payout_models, payout_tasks  # noqa: F401
    from . import payout_views
    from .payout_dates import offer_section

    app.register_blueprint(payout_views.bp)
    register_api(app, api.bp)
    # After the books' subscriber (registered first): the payable exists when this runs.
    subscribe(app, assignment_approved, payout_tasks.on_approved)
    payout_tasks.init_app(app)
    payout_events.init_app(app)
    payout_cli.init_app(app)
    register_section(app, OFFER, "payout-date", "When you are paid", "pay/payouts_offer.html",
                     offer_section, order=20)
    register_nav(app, "technician", "Earnings", "payouts.earnings", order=70)
    register_panel(app, "firm", "pay/payouts_panel_spend.html", payout_views.spend_panel,
                   order=13)
    register_nav(app, "admin", "Finance", "payouts.finance_desk", order=70)
