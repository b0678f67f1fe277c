"""The per-app registry of what stages plug in.

An earlier stage reads a named hook; a later stage fills it in its
`init_app`. Nothing is kept in module globals, so several apps (tests,
workers) never see each other's registrations.

Hooks in use (name: what each entry is):

- ``works_with``: ``() -> Select`` of ``(firm_id, technician_id)`` pairs; verify's
  relation rule is their union.
- ``assignment_readers``: ``(technician_id, assignment_id) -> bool``; a technician
  who may read an assignment besides its assignee.
- ``nav``: ``NavItem`` per role; ``panels``: dashboard ``Panel`` per role.
- ``beat``: ``(name, entry)`` Celery beat entries.
- ``api_authenticators``: ``(raw_token) -> user | None``.
- ``page_counts``: ``web.ui.PageCount``, a count every page shows the signed-in user;
  all of them are read by one statement.
- ``outbox_channels``: ``(payload, message) -> None`` deliverers, keyed by channel.
- ``feed_card_actions``: ``(technician, assignments) -> {assignment_id: CardAction}``:
  what each card of the work feed offers (engage: its offer, "Take it" / "Apply").
- ``assignment_attention`` (keyed): ``find.attention.Attention`` kinds of work waiting
  for a firm (engage: counteroffers to answer, applicants to choose from).
- ``match_ranking``: ranking terms for matching; ``requirement_conditions``:
  extra conditions a requirement set can carry (later stages).
- ``technician_profile_sections``: ``web.sections.Section`` of the technician profile
  page (verify's credentials, find's assignments, engage's offers, rate's scorecard).
- ``routing_targets`` (keyed by engage's ``TargetKind`` value): ``(firm_id) -> [technician_id]``,
  the audience of a routing target a later stage provides (rate: the firm's favourites);
  engage offers the target only when it is registered.
- ``compliance_work_at_risk``: ``(firm_id | None, on) -> (count, [WorkAtRisk])``: booked
  work whose technician does not meet its set on its day (find, for verify's report).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app

_KEY = "marketplace.hooks"


class Hooks:
    """Named lists (and keyed maps) of registrations for one app."""

    def __init__(self) -> None:
        self._lists: dict[str, list[Any]] = {}
        self._maps: dict[str, dict[str, Any]] = {}

    def add(self, name: str, item: Any) -> Any:
        self._lists.setdefault(name, []).append(item)
        return item

    def get(self, name: str) -> list[Any]:
        return list(self._lists.get(name, ()))

    def put(self, name: str, key: str, item: Any) -> Any:
        """A keyed registration; a second one under the same key is a mistake."""
        entries = self._maps.setdefault(name, {})
        if key in entries and entries[key] is not item:
            raise ValueError(f"hook {name!r} already has {key!r}")
        entries[key] = item
        return item

    def mapping(self, name: str) -> dict[str, Any]:
        return dict(self._maps.get(name, {}))


def init_app(app: Flask) -> Hooks:
    return app.extensions.setdefault(_KEY, Hooks())


def hooks(app: Flask | None = None) -> Hooks:
    """The registry of `app` (default: the current app)."""
    target = app if app is not None else current_app
    return target.extensions[_KEY]


def register(app: Flask, name: str, item: Any) -> Any:
    return hooks(app).add(name, item)


def registered(name: str) -> list[Any]:
    return hooks().get(name)

