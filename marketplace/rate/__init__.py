"""Rate: two-way ratings, scorecards, the reliability score and its ranking term."""
from __future__ import annotations

from flask import Flask


def _on_transition(assignment, *, from_state, to_state, **_):
    from . import events, firm_scores
    firm_scores.on_transition(assignment, from_state, to_state)
    events.mark(assignment.id)


def init_app(app: Flask) -> None:
    from ..core.signals import assignment_transitioned, subscribe
    from ..engage.models import TargetKind
    from ..engage.routing import register_routing_target
    from ..find.feed_cards import register_feed_facts
    from ..web.api import register_api
    from ..web.sections import OFFER, TECHNICIAN_PROFILE, register_section
    from ..web.ui import register_nav, register_panel
    from . import api, cli, gates, lists, models, ranking, sections, tasks, views  # noqa: F401

    app.register_blueprint(views.bp)
    register_api(app, api.bp)
    app.cli.add_command(cli.rate)
    tasks.init_app(app)
    subscribe(app, assignment_transitioned, _on_transition)
    gates.init_app(app)
    ranking.init_app(app)
    register_routing_target(app, TargetKind.FAVOURITES, lists.favourite_ids)
    register_section(app, TECHNICIAN_PROFILE, "scorecard", "Scorecard",
                     "rate/_profile_scorecard.html", sections.profile_scorecard, order=5)
    register_section(app, TECHNICIAN_PROFILE, "your-lists", "Your firm's notes and lists",
                     "rate/_profile_lists.html", sections.profile_lists, order=6)
    register_section(app, OFFER, "firm-scorecard", "About this firm",
                     "rate/_offer_firm.html", sections.offer_firm_card, order=20)
    register_feed_facts(app, sections.feed_facts)
    register_nav(app, "technician", "Scorecard", "rate.my_scorecard", order=70)
    register_nav(app, "firm", "Lists", "rate.firm_lists", order=75)
    register_nav(app, "admin", "Ratings", "rate.admin_queue", order=60)
    register_panel(app, "technician", "rate/_panel_to_rate.html", sections.panel_to_rate,
                   order=40)
    register_panel(app, "firm", "rate/_panel_to_rate.html", sections.panel_to_rate, order=40)
