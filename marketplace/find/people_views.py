"""The technician directory and profile pages (firms and platform admins), the picker's
suggestions, and the admin's suspend and reinstate buttons on the profile."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import admin_required, login_required
from ..accounts.models import SkillLevel
from ..accounts.people import pick_label
from ..accounts.policy import firm_id_of
from ..accounts.services import list_skills
from ..errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..verify import catalog, standing
from ..web.formkit import act
from ..web.pagination import page_args
from . import directory, profile
from .models import TalentPool

bp = Blueprint("people", __name__)


def technician_url(technician_id: int, **values) -> str:
    """The profile page of a technician (templates call it wherever a name is shown)."""
    return url_for("people.technician", technician_id=technician_id, **values)


def technicians_url(**values) -> str:
    return url_for("people.technicians", **values)


def _firm_or_admin() -> None:
    if not (current_user.is_admin or current_user.is_firm_user):
        raise PermissionDenied("This page is for firms and platform admins.")


@bp.get("/technicians")
@login_required
def technicians():
    _firm_or_admin()
    page, per_page = page_args(request.args)
    errors: dict[str, str] = {}
    results = origin = None
    try:
        query = directory.DirectoryQuery.from_args(request.args, current_user)
        results, origin = directory.search(current_user, query, page, per_page)
    except ValidationFailed as exc:
        errors = exc.fields or {"q": exc.message}
        query = None
    firm_id = firm_id_of(current_user)
    pools = db.session.scalars(select(TalentPool).where(TalentPool.firm_id == firm_id)
                               .order_by(TalentPool.name)).all() if firm_id else []
    return render_template("find/directory.html", results=results, origin=origin, query=query,
                           errors=errors, args=request.args, skills=list_skills(),
                           pager_args={k: v for k, v in request.args.items() if k != "page"},
                           levels=list(SkillLevel), pools=pools,
                           sets=catalog.list_requirement_sets(current_user))


@bp.get("/technicians/suggest")
@login_required
def suggestions():
    """Names for a picker: technicians the viewer may find, by name."""
    _firm_or_admin()
    return jsonify([{"id": t.id, "label": pick_label(t)}
                    for t in directory.suggest(current_user, request.args.get("q", ""))])


@bp.get("/technicians/<int:technician_id>")
@login_required
def technician(technician_id: int):
    _firm_or_admin()
    subject = profile.subject_for(current_user, technician_id, request.args)
    shown = profile.sections(subject)
    return render_template("find/technician.html", subject=subject, tech=subject.technician,
                           sections=shown, section_keys={s.key for s, _ in shown})


@bp.post("/technicians/<int:technician_id>/suspend")
@admin_required
def suspend(technician_id: int):
    tech = directory.access_technician(current_user, technician_id)
    act(lambda: standing.suspend_technician(current_user, tech, request.form.get("reason", "")),
        f"{tech.name} is suspended and has been told why.", field="reason")
    return redirect(url_for("people.technician", technician_id=tech.id))


@bp.post("/technicians/<int:technician_id>/reinstate")
@admin_required
def reinstate(technician_id: int):
    tech = directory.access_technician(current_user, technician_id)
    act(lambda: standing.reinstate_technician(current_user, tech,
                                              request.form.get("reason", "")),
        f"{tech.name} is reinstated.", field="reason")
    return redirect(url_for("people.technician", technician_id=tech.id))
