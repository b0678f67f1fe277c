"""The three home dashboards. Each is a shell; stages add panels to it."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from .accounts.access import admin_required, firm_required, technician_required
from .ui import panels_for, role_of

bp = Blueprint("dashboards", __name__)


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
@firm_required()
def firm():
    return render_template("dashboards/firm.html", firm=current_user.firm,
                           panels=panels_for(current_user))


@bp.get("/tech")
@technician_required
def technician():
    return render_template("dashboards/technician.html", profile=current_user.technician,
                           panels=panels_for(current_user))


@bp.get("/admin")
@admin_required
def admin():
    return render_template("dashboards/admin.html", panels=panels_for(current_user))
