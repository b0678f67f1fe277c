"""Assignment templates: everything an assignment needs but its date.

Save any assignment as one, edit or delete it, and pre-fill a new assignment
from it or from a previous assignment (a duplicate). A template's values are
checked by the same rules as an assignment's (`assignments.clean`, undated).
"""
from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import User
from ..accounts.policy import require_member
from ..core import audit
from ..core.actions import Action
from ..errors import ValidationFailed
from ..extensions import db
from .access import access_assignment, access_template
from .assignments import Cleaned, clean, form_data, parse_time
from .attachments import copy_attachments, delete_all
from .models import Assignment, AssignmentTemplate

# Fields a template (or a duplicate) carries: everything but the date.
TEMPLATE_FIELDS = ("title", "description", "skills", "requirement_set_id", "address",
                   "radius_km", "schedule_kind", "start_time", "end_time", "pricing",
                   "rate_cents", "hourly_rate_cents", "max_hours", "fixed_hours", "currency",
                   "checklist", "geofence_m", "sla_response_minutes",
                   "sla_arrival_minutes", "sla_completion_minutes")


def _firm_user(user: User) -> int:
    return require_member(user, message="Only firm members manage templates.").firm_id


def _undated(data: dict) -> dict:
    return {k: data.get(k) for k in TEMPLATE_FIELDS}


def _hhmm(value) -> str:
    parsed = parse_time(value, "time")
    return parsed.strftime("%H:%M") if parsed else ""


def _values(cleaned: Cleaned, data: dict) -> dict:
    """Validated values in the shape `form_data` gives (what pre-fill reads)."""
    v = cleaned.values
    return {
        "title": v["title"], "description": v["description"],
        "skills": {str(sid): level for sid, level in cleaned.skills.items()},
        "requirement_set_id": v["requirement_set_id"], "address": v["address"],
        "radius_km": v["radius_km"], "schedule_kind": v["schedule_kind"].value,
        "start_time": _hhmm(data.get("start_time")), "end_time": _hhmm(data.get("end_time")),
        "pricing": v["pricing"].value, "rate_cents": v["rate_cents"],
        "hourly_rate_cents": v["hourly_rate_cents"], "max_hours": v["max_hours"],
        "fixed_hours": v["fixed_hours"], "currency": v["currency"],
        "checklist": v["checklist"],
    }


def _checked(user: User, name: str, data: dict) -> tuple[str, dict]:
    """The name and the values, validated like an assignment minus the date."""
    name = (name or "").strip()
    errors = {} if name else {"name": "Name the template."}
    cleaned = None
    try:
        cleaned = clean(user, data, dated=False)
    except ValidationFailed as exc:
        errors.update(exc.fields or {"form": exc.message})
    if errors:
        raise ValidationFailed("Some of the template's details need attention.", fields=errors)
    return name[:120], _values(cleaned, data)


def save_as_template(user: User, assignment: Assignment, name: str) -> AssignmentTemplate:
    _firm_user(user)
    name = (name or "").strip() or assignment.title
    template = AssignmentTemplate(firm_id=assignment.firm_id, name=name[:120],
                                  data=_undated(form_data(assignment)), created_by_id=user.id)
    db.session.add(template)
    db.session.flush()
    copy_attachments(user, assignment, template)
    audit.record(Action.TEMPLATE_CREATED, template, actor=user, firm_id=template.firm_id)
    return template


def create_template(user: User, name: str, data: dict) -> AssignmentTemplate:
    """A template from input values, without an assignment behind it."""
    firm_id = _firm_user(user)
    name, values = _checked(user, name, data)
    template = AssignmentTemplate(firm_id=firm_id, name=name, data=values,
                                  created_by_id=user.id)
    db.session.add(template)
    db.session.flush()
    audit.record(Action.TEMPLATE_CREATED, template, actor=user, firm_id=firm_id)
    return template


def update_template(user: User, template: AssignmentTemplate, name: str,
                    data: dict) -> AssignmentTemplate:
    """Rename and change a template; assignments made from it keep their values."""
    _firm_user(user)
    name, values = _checked(user, name, data)
    template.name, template.data = name, values
    db.session.flush()
    audit.record(Action.TEMPLATE_UPDATED, template, actor=user, firm_id=template.firm_id)
    return template


def delete_template(user: User, template: AssignmentTemplate) -> None:
    """The template and its file references go; assignments made from it keep theirs."""
    _firm_user(user)
    audit.record(Action.TEMPLATE_DELETED, template, actor=user, firm_id=template.firm_id,
                 before={"name": template.name})
    delete_all(template)
    db.session.delete(template)
    db.session.flush()


def prefill_from_template(template: AssignmentTemplate) -> dict:
    """Everything but the date."""
    data = dict(template.data or {})
    data.update(start_date="", end_date="")
    return data


def prefill_duplicate(assignment: Assignment) -> dict:
    """A previous assignment's values, everything but the date."""
    data = _undated(form_data(assignment))
    data.update(start_date="", end_date="")
    return data


def starting_point(user: User, *, template_id: int | None = None,
                   duplicate_of: int | None = None
                   ) -> tuple[Assignment | AssignmentTemplate | None, dict]:
    """What a new assignment starts from, for the page and the API alike: one of the
    firm's templates or previous assignments (another firm's is NotFound) and its
    values, everything but the date. (None, {}) when neither is asked for."""
    if template_id is not None and duplicate_of is not None:
        raise ValidationFailed.field("duplicate_of", "Start from a template or from an "
                                                     "assignment, not both.")
    if template_id is not None:
        template = access_template(user, template_id)
        return template, prefill_from_template(template)
    if duplicate_of is not None:
        assignment = access_assignment(user, duplicate_of)
        return assignment, prefill_duplicate(assignment)
    return None, {}


def with_overrides(prefill: dict, overrides: dict) -> dict:
    """A template's or a duplicate's values with the caller's own on top (the API's
    "new from template" and "duplicate"). A price given either way replaces the
    one carried in cents."""
    data = dict(prefill)
    for cents, given in (("rate_cents", "rate"), ("hourly_rate_cents", "hourly_rate")):
        if given in overrides or cents in overrides:
            data.pop(cents, None)
    data.update(overrides)
    return data


def list_templates(user: User):
    firm_id = _firm_user(user)
    return select(AssignmentTemplate).where(
        AssignmentTemplate.firm_id == firm_id).order_by(AssignmentTemplate.name)
