"""Navigation and dashboard panels, which each stage registers for itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

from ..core.clock import as_utc
from ..core.hooks import hooks
from ..core.money import format_money


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
    hooks(app).add(f"nav:{role}", NavItem(order, label, endpoint))


def register_panel(app: Flask, role: str, template: str,
                   context: Callable[[object], dict], order: int = 50) -> None:
    """A dashboard panel: `context(user)` returns the template's variables."""
    hooks(app).add(f"panels:{role}", Panel(order, template, context))


def register_page_context(app: Flask, context: Callable[[object], dict]) -> None:
    """Variables every page gets for the signed-in user (e.g. the unread count)."""
    hooks(app).add("page_context", context)


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
            for p in sorted(hooks().get(f"panels:{role}"))]


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
        items = sorted(hooks().get(f"nav:{role}")) if role else []
        context = {"nav_items": items, "user_role": role}
        if role:
            for extra in hooks().get("page_context"):
                context.update(extra(current_user))
        return context
