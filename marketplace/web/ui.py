"""Navigation and dashboard panels, which each stage registers for itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context
from flask_login import current_user
from sqlalchemy import Select, select

from ..core.clock import as_utc
from ..core.hooks import hooks
from ..core.money import cents_to_decimal_str, format_money, format_terms
from ..extensions import db


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


@dataclass(order=True)
class SettingLink:
    order: int
    label: str = field(compare=False)
    endpoint: str = field(compare=False)
    description: str = field(compare=False, default="")


def register_setting(app: Flask, role: str, label: str, endpoint: str, description: str = "",
                     order: int = 50) -> None:
    """A page listed on the role's Settings page (role "any": every signed-in person)."""
    hooks(app).add(f"settings:{role}", SettingLink(order, label, endpoint, description))


def settings_for(user) -> list[SettingLink]:
    role = role_of(user)
    return sorted(hooks().get(f"settings:{role}") + hooks().get("settings:any"))


@dataclass
class PageCount:
    """A count every page shows the signed-in user (what is unread): `query(user)` is a
    SELECT of that one count, or None when there is nothing to count for them. Shown as
    the page variable `name`, or, with `badge`, on the navigation item whose endpoint is
    `name`."""
    name: str
    query: Callable[[object], Select | None]
    badge: bool = False


def register_page_count(app: Flask, name: str, query: Callable[[object], Select | None], *,
                        badge: bool = False) -> None:
    hooks(app).add("page_counts", PageCount(name, query, badge))


def page_counts(user) -> dict:
    """The user's page counts (and `nav_badges`), all read by one statement."""
    counts = [(count, q) for count in hooks().get("page_counts")
              if (q := count.query(user)) is not None]
    values = db.session.execute(select(*(q.scalar_subquery() for _, q in counts))).one() \
        if counts else ()
    out: dict = {"nav_badges": {}}
    for (count, _), n in zip(counts, values):
        (out["nav_badges"] if count.badge else out)[count.name] = n or 0
    return out


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


WHEN = "%a %b %-d, %-I:%M %p"


def _at(value: datetime, zone: str | None, fmt: str) -> str:
    moment = as_utc(value).astimezone(ZoneInfo(zone or "UTC"))
    return f"{moment.strftime(fmt)} {moment.strftime('%Z')}"


def local_time(value: datetime | None, tz: str | None = None, fmt: str = WHEN) -> str:
    """A time of work in its site's zone, with the zone's abbreviation: "Tue Dec 8, 6:00 PM PST"."""
    return "—" if value is None else _at(value, tz, fmt)


def work_window(starts: datetime | None, ends: datetime | None, tz: str | None) -> str:
    """A window of work in its site's zone: "Tue Dec 8, 6:00 PM – 8:00 PM PST" (the day and
    the zone once; both days when it spans several)."""
    if starts is None or ends is None:
        return local_time(starts or ends, tz)
    zone = ZoneInfo(tz or "UTC")
    first, last = as_utc(starts).astimezone(zone), as_utc(ends).astimezone(zone)
    if first.date() != last.date():
        return f"{first.strftime(WHEN)} – {_at(ends, tz, WHEN)}"
    return f"{first.strftime(WHEN)} – {_at(ends, tz, '%-I:%M %p')}"


def viewer_zone(user=None) -> str | None:
    """The signed-in person's own zone (a technician's, a firm member's firm's); None: UTC."""
    if user is None:
        user = current_user if has_request_context() else None
    if not getattr(user, "is_authenticated", False):
        return None
    tech = getattr(user, "technician", None)
    if tech is not None and getattr(tech, "timezone", None):
        return tech.timezone
    firm = getattr(user, "firm", None) if getattr(user, "is_firm_user", False) else None
    return getattr(firm, "timezone", None) or None


def viewer_time(value: datetime | None, fmt: str = WHEN) -> str:
    """When something happened, in the viewer's zone with its abbreviation ("… UTC" if none)."""
    return "—" if value is None else _at(value, viewer_zone(), fmt)


def plural(n: int, singular: str, many: str | None = None) -> str:
    """The words that agree with `n`: plural(1, "offer") "offer", plural(3, "row needs",
    "rows need") "rows need". Write the number yourself: f"{n} {plural(n, 'offer')}"."""
    return singular if n == 1 else (many if many is not None else singular + "s")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["money_terms"] = format_terms
    app.jinja_env.filters["money_input"] = cents_to_decimal_str
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["viewer_time"] = viewer_time
    app.jinja_env.filters["plural"] = plural
    app.jinja_env.globals["work_window"] = work_window

    @app.context_processor
    def _navigation():
        role = role_of(current_user)
        items = sorted(hooks().get(f"nav:{role}")) if role else []
        context = {"nav_items": items, "user_role": role, "nav_badges": {}}
        if role:
            context.update(page_counts(current_user))
        return context
