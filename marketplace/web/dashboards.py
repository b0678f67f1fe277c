"""The three home dashboards. Each is a shell; stages add panels to it."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..errors import PermissionDenied, Unauthenticated
from .ui import panels_for, role_of, settings_for

bp = Blueprint("dashboards", __name__)


def _for(role: str):
    """The dashboard of one role (the role comes from the user, as the navigation's does)."""
    def decorator(view):
        @wraps(view)
        def wrapped():
            if not current_user.is_authenticated:
                raise Unauthenticated()
            if role_of(current_user) != role:
                raise PermissionDenied(f"This page is for {ROLE_NAMES[role]}.")
            return view()
        return wrapped
    return decorator


ROLE_NAMES = {"firm": "firm members", "technician": "technicians", "admin": "platform admins"}


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("dashboards.home"))
    return render_template("dashboards/landing.html")


@bp.get("/dashboard")
def home():
    role = role_of(current_user)
    if role is None:
        return redirect(url_for("accounts.login"))
    return redirect(url_for(f"dashboards.{role}"))


@bp.get("/firm")
@_for("firm")
def firm():
    return render_template("dashboards/firm.html", firm=current_user.firm,
                           panels=panels_for(current_user))


@bp.get("/tech")
@_for("technician")
def technician():
    return render_template("dashboards/technician.html", profile=current_user.technician,
                           panels=panels_for(current_user))


@bp.get("/admin")
@_for("admin")
def admin():
    return render_template("dashboards/admin.html", panels=panels_for(current_user))


@bp.get("/settings")
def settings():
    if not current_user.is_authenticated:
        raise Unauthenticated()
    return render_template("dashboards/settings.html", links=settings_for(current_user))
