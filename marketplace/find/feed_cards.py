"""What a card of the technician's work feed offers besides the work itself.

Find lists the work; whether the technician holds an offer for it, may take it
or apply to it, and where its detail page is, belong to later stages (engage).
They register a provider on the `feed_card_actions` hook:
``(technician, assignments) -> {assignment_id: CardAction}``, answered for all
the cards at once. Facts shown on a card (rate: the firm's scorecard) come from
the `feed_card_facts` hook: ``(technician, assignments) -> {assignment_id: str}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from flask import Flask

from ..core.hooks import hooks

HOOK = "feed_card_actions"
FACTS = "feed_card_facts"


@dataclass
class CardAction:
    href: str | None = None          # the technician's page for this work
    mark: str | None = None          # "You have an offer", "Applied"
    button: str | None = None        # "Take it", "Apply"
    post_to: str | None = None       # where the button posts
    fields: dict[str, str] = field(default_factory=dict)  # what it posts besides the token
    note: str | None = None          # why there is no button
    facts: list[str] = field(default_factory=list)  # "Acme: 4.6★ (12) · pays in 2 days"


Provider = Callable[[object, list], dict]


def register_feed_cards(app: Flask, provider: Provider) -> None:
    hooks(app).add(HOOK, provider)


def register_feed_facts(app: Flask, provider: Provider) -> None:
    hooks(app).add(FACTS, provider)


def actions_for(technician, items: list) -> dict[int, CardAction]:
    """The action of each feed item's card, by assignment id (the first provider to
    answer for a card wins; a card nobody answers for offers nothing)."""
    assignments = [item.assignment for item in items]
    actions: dict[int, CardAction] = {}
    if technician is not None and assignments:
        for provider in hooks().get(HOOK):
            for assignment_id, action in provider(technician, assignments).items():
                actions.setdefault(assignment_id, action)
    found = {a.id: actions.get(a.id) or CardAction() for a in assignments}
    if technician is not None and assignments:
        for provider in hooks().get(FACTS):
            for assignment_id, fact in provider(technician, assignments).items():
                if assignment_id in found:
                    card = found[assignment_id]
                    found[assignment_id] = replace(card, facts=[*card.facts, fact])
    return found
