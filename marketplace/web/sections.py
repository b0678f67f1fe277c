"""Sections of a page that several stages fill: each registers a template and a context
function under the page's hook (``<page>_sections``), the page renders them in order.

The technician profile (``technician_profile``) is one: verify adds the credentials a
viewer may see, find the assignments, engage the offers and backouts, rate (later) the
scorecard. A context function returns the template's variables, or None to show nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask import Flask

from ..core.hooks import hooks

TECHNICIAN_PROFILE = "technician_profile"
# A technician's offer (engage): what later stages add before the technician accepts,
# e.g. when they will be paid and whether the funds are secured (pay), the firm's
# scorecard (rate). The context function is given an ``OfferSubject``.
OFFER = "offer"


@dataclass(order=True)
class Section:
    order: int
    key: str = field(compare=False)
    title: str = field(compare=False)
    template: str = field(compare=False)
    context: Callable[[Any], dict | None] = field(compare=False)


@dataclass(frozen=True)
class ProfileSubject:
    """What a technician profile section is told: who looks, at whom, for which firm
    (None: a platform admin), whether that firm works with the technician (the one rule,
    verify.relations, asked once by the page) and the page's query arguments."""
    viewer: Any
    technician: Any
    firm_id: int | None
    works_with: bool
    args: Mapping[str, str] = field(default_factory=dict)

    @property
    def may_see_private(self) -> bool:
        """Credentials, documents and the like: admins, and firms that work with them."""
        return bool(getattr(self.viewer, "is_admin", False)) or self.works_with


@dataclass(frozen=True)
class OfferSubject:
    """What an offer section is told: the technician who looks, the offer, its assignment."""
    viewer: Any
    offer: Any
    assignment: Any


def register_section(app: Flask, page: str, key: str, title: str, template: str,
                     context: Callable[[Any], dict | None], order: int = 50) -> None:
    hooks(app).add(f"{page}_sections", Section(order, key, title, template, context))


def sections_for(page: str, subject: Any) -> list[tuple[Section, dict]]:
    """The page's sections with something to show, in order, each with its variables."""
    shown = []
    for section in sorted(hooks().get(f"{page}_sections")):
        values = section.context(subject)
        if values is not None:
            shown.append((section, values))
    return shown
