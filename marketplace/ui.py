"""Navigation and dashboard panels, which each stage registers for itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_login import current_user

from .clock import as_utc
from .money import format_money


@dataclass(order=True)
class NavItem:
    order: int
    label: str = field(compare=False)
    endpoint: str = field(compare=False)


@dataclass(order=True)
class Panel:
    order: int
    template: str = field(compare=False)
    context: Callable[[object], dict] = field(compare=False)


def register_nav(app: Flask, role: str, label: str, endpoint: str, order: int = 50) -> None:
    app.extensions.setdefault("nav", {}).setdefault(role, []).append(
        NavItem(order, label, endpoint))


def register_panel(app: Flask, role: str, template: str,
                   context: Callable[[object], dict], order: int = 50) -> None:
    """A dashboard panel: `context(user)` returns the template's variables."""
    app.extensions.setdefault("panels", {}).setdefault(role, []).append(
        Panel(order, template, context))


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_admin:
        return "admin"
    if user.is_technician:
        return "technician"
    if user.is_firm_user:
        return "firm"
    return None


def panels_for(user) -> list[tuple[str, dict]]:
    role = role_of(user)
    return [(p.template, p.context(user))
            for p in sorted(current_app.extensions.get("panels", {}).get(role, []))]


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "%a %b %-d, %-I:%M %p") -> str:
    if value is None:
        return "—"
    zone = ZoneInfo(tz) if tz else ZoneInfo("UTC")
    text = as_utc(value).astimezone(zone).strftime(fmt)
    return text if tz else text + " UTC"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local_time"] = local_time

    @app.context_processor
    def _navigation():
        role = role_of(current_user)
        items = sorted(current_app.extensions.get("nav", {}).get(role, [])) if role else []
        unread = 0
        if role:
            from .notifications.services import unread_count
            unread = unread_count(current_user)
        return {"nav_items": items, "user_role": role, "unread_notifications": unread}
