"""Platform admins' pages for people: user search and the audit log."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..core.actions import Action
from ..errors import ValidationFailed
from ..web.pagination import page_args, paginate
from . import audit_log, people
from .access import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _pager_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k != "page"}


@bp.get("/users")
@admin_required
def users():
    """Anyone by name or email, role and status; a bad filter says so and lists nobody."""
    page, per_page = page_args(request.args)
    found, errors = None, {}
    try:
        query = people.UserQuery.from_args(request.args)
        found = paginate(people.search_users(query), page, per_page)
    except ValidationFailed as exc:
        query, errors = None, exc.fields
    return render_template("accounts/admin_users.html", page=found, query=query, errors=errors,
                           args=request.args, roles=people.ROLE_FILTERS,
                           statuses=people.STATUS_FILTERS, pager_args=_pager_args())


@bp.get("/audit")
@admin_required
def audit():
    """The audit log, newest first, by actor, firm, action, subject and UTC days."""
    page, per_page = page_args(request.args, default_per_page=50)
    found, errors = None, {}
    try:
        query = audit_log.AuditQuery.from_args(request.args)
        found = audit_log.search_audit(query, page, per_page)
    except ValidationFailed as exc:
        query, errors = None, exc.fields
    return render_template("accounts/audit_log.html", page=found, query=query, errors=errors,
                           args=request.args, actions=sorted(a.value for a in Action),
                           subject_types=audit_log.subject_types(), pager_args=_pager_args())
