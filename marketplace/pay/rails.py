"""Stripe Connect onboarding, firm funding and Stripe webhooks: wiring."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    from ..core.outbox import Channel, register_channel
    from ..web.ui import register_nav, register_panel, register_setting
    from . import funding, rails_models, rails_views, stripe_events  # noqa: F401
    register_channel(app, funding.CHANNEL, Channel(
        deliver=funding.deliver_topup, max_attempts=10, base_delay=timedelta(seconds=20),
        on_dead=funding.give_up_topup))
    app.register_blueprint(rails_views.bp)
    stripe_events.init_app(app)
    register_nav(app, "firm", "Funds", "rails.funds", order=74)
    register_nav(app, "admin", "Net terms", "rails.net_terms", order=72)
    register_panel(app, "technician", "pay/rails_panel_payouts.html",
                   rails_views.technician_panel, order=2)
    register_panel(app, "firm", "pay/rails_panel_funds.html", rails_views.firm_panel, order=12)
    register_setting(app, "technician", "Payouts", "rails.payout_setup",
                     "Connect your bank account through Stripe to get paid.", order=20)
