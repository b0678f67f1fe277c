"""Find over JSON: assignments, templates, pools, matches and the work feed."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import firm_required, login_required, technician_required
from ..core.uploads import Upload, file_response
from ..errors import ValidationFailed
from ..extensions import db
from ..web.api import json_body
from ..web.openapi import documented
from ..web.pagination import page_args, paginate
from . import assignment_templates as templates_svc
from . import assignments as svc
from . import attachments, csv_import, pools
from .access import (
    access_assignment,
    access_assignment_as_reader,
    access_attachment,
    access_membership,
    access_pool,
    access_public_pool,
    access_template,
)
from .matching import feed_for, match_technicians
from .models import PoolMember
from .serialize import (
    assignment_json,
    attachment_json,
    member_json,
    pool_json,
    template_json,
)

bp = Blueprint("find_api", __name__)

OBJ = {"type": "object"}
ASSIGNMENT_IN = {"type": "object", "properties": {
    "title": {"type": "string"}, "description": {"type": "string"},
    "address": {"type": "string", "example": "2500 Victory Ave, Dallas, TX 75219"},
    "skills": {"type": "object", "additionalProperties": {"type": "integer"},
               "description": "skill id -> minimum level 1-4"},
    "requirement_set_id": {"type": "integer", "nullable": True},
    "radius_km": {"type": "integer"}, "schedule_kind": {"enum": ["window", "flexible"]},
    "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string"},
    "start_time": {"type": "string", "example": "09:00"}, "end_time": {"type": "string"},
    "pricing": {"enum": ["fixed", "hourly", "blended"]}, "rate": {"type": "string"},
    "hourly_rate": {"type": "string"}, "max_hours": {"type": "number"},
    "fixed_hours": {"type": "number"}, "payment_terms_days": {"type": "integer"},
    "checklist": {"type": "array", "items": {"type": "string"}},
    "publish": {"type": "boolean"}}}
ASSIGNMENT_CREATE = {"type": "object", "properties": {
    **ASSIGNMENT_IN["properties"],
    "template_id": {"type": "integer", "description": "start from this template: its "
                    "values and files, with the fields sent here on top (give the date)"},
    "duplicate_of": {"type": "integer", "description": "start from a previous assignment "
                     "the same way"}}}
ID_PARAM = [{"name": "q", "in": "query", "schema": {"type": "string"}},
            {"name": "status", "in": "query", "schema": {"type": "string"}}]


@bp.get("/assignments")
@firm_required()
@documented("Your firm's assignments (filter by status, search by q)", tags=["find"],
            paginated=True, params=ID_PARAM, response=OBJ, errors=(401, 403, 422))
def list_assignments():
    page, per_page = page_args(request.args)
    stmt = svc.list_assignments(current_user, status=request.args.get("status"),
                                q=request.args.get("q"))
    return jsonify(paginate(stmt, page, per_page).to_json(assignment_json))


_SOURCES = {"template_id": "templates", "duplicate_of": "assignments"}


def _source_id(data: dict, name: str) -> int:
    value = data.pop(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(name, f"Give the id of one of your firm's {_SOURCES[name]}.")
    return value


@bp.post("/assignments")
@firm_required()
@documented("Create an assignment (optionally publish it), from scratch, from a template "
            "(`template_id`) or as a duplicate of a previous one (`duplicate_of`)",
            tags=["find"], request=ASSIGNMENT_CREATE, response=OBJ, status=201,
            errors=(401, 403, 404, 409, 422))
def create_assignment():
    data = dict(json_body())
    if "template_id" in data and "duplicate_of" in data:
        raise ValidationFailed.field("duplicate_of", "Start from a template or from an "
                                                     "assignment, not both.")
    source = None
    if "template_id" in data:
        source = access_template(current_user, _source_id(data, "template_id"))
        data = templates_svc.with_overrides(templates_svc.prefill_from_template(source), data)
    elif "duplicate_of" in data:
        source = access_assignment(current_user, _source_id(data, "duplicate_of"))
        data = templates_svc.with_overrides(templates_svc.prefill_duplicate(source), data)
    a = svc.create_assignment(current_user, data, publish=bool(data.get("publish")),
                              files_from=source)
    return jsonify(assignment_json(a)), 201


@bp.get("/assignments/<int:assignment_id>")
@firm_required()
@documented("One assignment", tags=["find"], response=OBJ, errors=(401, 403, 404))
def get_assignment(assignment_id: int):
    return jsonify(assignment_json(access_assignment(current_user, assignment_id)))


@bp.put("/assignments/<int:assignment_id>")
@firm_required()
@documented("Replace an assignment's details (send `version` to guard against lost updates)",
            tags=["find"], request=ASSIGNMENT_IN, response=OBJ, errors=(401, 403, 404, 409, 422))
def update_assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    data = json_body()
    svc.update_assignment(current_user, a, data, expected_version=data.get("version"))
    return jsonify(assignment_json(a))


@bp.post("/assignments/<int:assignment_id>/publish")
@firm_required()
@documented("Publish a draft", tags=["find"], response=OBJ, errors=(401, 403, 404, 409))
def publish_assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    svc.publish_assignment(current_user, a)
    return jsonify(assignment_json(a))


@bp.get("/assignments/<int:assignment_id>/matches")
@firm_required()
@documented("The best-matching technicians, nearest first, each with an explanation",
            tags=["find"], params=[{"name": "k", "in": "query",
                                    "schema": {"type": "integer", "maximum": 200}}],
            response=OBJ, errors=(401, 403, 404, 422))
def matches(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    try:
        k = min(200, max(1, int(request.args.get("k", 50))))
    except ValueError:
        raise ValidationFailed.field("k", "k is a whole number.") from None
    found = match_technicians(a, k=k)
    from ..accounts.models import TechnicianProfile
    names = {t.id: t.name for t in db.session.scalars(select(TechnicianProfile).where(
        TechnicianProfile.id.in_([m.technician_id for m in found])))}
    return jsonify({"data": [{"technician_id": m.technician_id,
                              "name": names.get(m.technician_id),
                              "distance_km": round(m.distance_km, 2), "score": m.score,
                              "explanation": m.explanation} for m in found]})


@bp.get("/assignments/<int:assignment_id>/attachments")
@login_required
@documented("An assignment's files (the firm's members; technicians once they have an offer "
            "for it, applied, or are assigned)", tags=["find"], response=OBJ,
            errors=(401, 404))
def list_attachments(assignment_id: int):
    a = access_assignment_as_reader(current_user, assignment_id)
    return jsonify({"data": [attachment_json(f) for f in attachments.list_attachments(a)]})


@bp.post("/assignments/<int:assignment_id>/attachments")
@firm_required()
@documented("Attach a file: send multipart/form-data with a `file` part (PDF, JPEG or PNG, "
            "checked by content; at most UPLOAD_MAX_BYTES)", tags=["find"], status=201,
            response=OBJ, errors=(401, 403, 404, 409, 413, 422))
def upload_attachment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed.field("file", "Send the file as a multipart `file` part.")
    added = attachments.add_attachment(current_user, a,
                                       Upload(filename=file.filename or "", data=file.read()))
    return jsonify(attachment_json(added)), 201


@bp.get("/attachments/<int:attachment_id>")
@login_required
@documented("Download a file (the same people who may list it)", tags=["find"],
            response={"type": "string", "format": "binary"}, errors=(401, 404))
def download_attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    return file_response(attachments.read_attachment(att), att.mime, att.filename)


@bp.delete("/attachments/<int:attachment_id>")
@firm_required()
@documented("Remove a file while its assignment is a draft or published", tags=["find"],
            response=OBJ, errors=(401, 403, 404, 409))
def delete_attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    attachments.delete_attachment(current_user, att)
    return jsonify({"deleted": attachment_id})


@bp.post("/assignments/import")
@firm_required()
@documented("Create assignments from CSV text; bad rows are reported and create nothing",
            tags=["find"], request={"type": "object", "properties": {
                "csv": {"type": "string"}, "publish": {"type": "boolean"}}},
            response=OBJ, errors=(401, 403, 422))
def import_assignments():
    data = json_body()
    report = csv_import.import_csv(current_user, str(data.get("csv") or ""),
                            publish=bool(data.get("publish")))
    return jsonify({"created": [assignment_json(a) for a in report.created],
                    "errors": [{"line": line, "fields": f} for line, f in report.errors]})


@bp.get("/templates")
@firm_required()
@documented("Your firm's assignment templates", tags=["find"], paginated=True,
            response=OBJ, errors=(401, 403, 422))
def list_templates():
    page, per_page = page_args(request.args)
    return jsonify(paginate(templates_svc.list_templates(current_user), page, per_page)
                   .to_json(template_json))


@bp.post("/templates")
@firm_required()
@documented("Save an assignment as a template", tags=["find"], status=201,
            request={"type": "object", "properties": {"assignment_id": {"type": "integer"},
                                                      "name": {"type": "string"}}},
            response=OBJ, errors=(401, 403, 404, 422))
def create_template():
    data = json_body()
    try:
        assignment_id = int(data.get("assignment_id"))
    except (TypeError, ValueError):
        raise ValidationFailed.field("assignment_id", "Give the assignment to save.") from None
    a = access_assignment(current_user, assignment_id)
    t = templates_svc.save_as_template(current_user, a, str(data.get("name") or ""))
    return jsonify(template_json(t)), 201


@bp.get("/templates/<int:template_id>")
@firm_required()
@documented("One template with its pre-fill values (everything but the date)", tags=["find"],
            response=OBJ, errors=(401, 403, 404))
def get_template(template_id: int):
    t = access_template(current_user, template_id)
    return jsonify({**template_json(t), "prefill": templates_svc.prefill_from_template(t)})


@bp.get("/pools")
@firm_required()
@documented("Your firm's talent pools", tags=["find"], response=OBJ, errors=(401, 403))
def list_pools():
    from .models import TalentPool
    rows = db.session.scalars(select(TalentPool).where(
        TalentPool.firm_id == current_user.membership.firm_id).order_by(TalentPool.name))
    return jsonify({"data": [pool_json(p) for p in rows]})


@bp.post("/pools")
@firm_required()
@documented("Create a talent pool", tags=["find"], status=201, request={
    "type": "object", "properties": {"name": {"type": "string"},
                                     "description": {"type": "string"},
                                     "visibility": {"enum": ["public", "invite_only", "private"]},
                                     "requirement_set_id": {"type": "integer"}}},
    response=OBJ, errors=(401, 403, 422))
def create_pool():
    data = json_body()
    p = pools.create_pool(current_user, name=str(data.get("name") or ""),
                          description=str(data.get("description") or ""),
                          visibility=str(data.get("visibility") or "private"),
                          requirement_set_id=data.get("requirement_set_id"))
    return jsonify(pool_json(p)), 201


@bp.get("/pools/<int:pool_id>")
@firm_required()
@documented("A pool and its members", tags=["find"], response=OBJ, errors=(401, 403, 404))
def get_pool(pool_id: int):
    p = access_pool(current_user, pool_id)
    members = db.session.scalars(select(PoolMember).where(PoolMember.pool_id == p.id))
    return jsonify({**pool_json(p), "members": [member_json(m) for m in members]})


@bp.post("/pools/<int:pool_id>/members")
@firm_required()
@documented("Add, invite, approve or remove a technician", tags=["find"], request={
    "type": "object", "properties": {"technician_id": {"type": "integer"},
                                     "action": {"enum": ["add", "invite", "approve", "remove"]}}},
    response=OBJ, errors=(401, 403, 404, 409, 422))
def pool_member(pool_id: int):
    p = access_pool(current_user, pool_id)
    data = json_body()
    try:
        tid = int(data.get("technician_id"))
    except (TypeError, ValueError):
        raise ValidationFailed.field("technician_id", "Give the technician's id.") from None
    action = {"add": pools.add_member, "invite": pools.invite,
              "approve": pools.approve_application,
              "remove": pools.remove_member}.get(str(data.get("action") or "add"))
    if action is None:
        raise ValidationFailed.field("action", "Choose add, invite, approve or remove.")
    member = action(current_user, p, tid)
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/join")
@technician_required
@documented("Apply to a public pool, or accept an invitation", tags=["find"], response=OBJ,
            errors=(401, 403, 404, 409, 422))
def join_pool(pool_id: int):
    p = access_public_pool(current_user, pool_id)
    member = pools.join(current_user.technician, p)
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/decline")
@technician_required
@documented("Decline an invitation to a pool", tags=["find"], response=OBJ,
            errors=(401, 403, 404, 409))
def decline_pool(pool_id: int):
    member = pools.decline_invitation(current_user.technician,
                                      access_membership(current_user, pool_id))
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/leave")
@technician_required
@documented("Leave a pool, or withdraw an application", tags=["find"], response=OBJ,
            errors=(401, 403, 404, 409))
def leave_pool(pool_id: int):
    member = pools.leave(current_user.technician, access_membership(current_user, pool_id))
    return jsonify(member_json(member))


@bp.get("/my/pools")
@technician_required
@documented("Your invitations, your pools and applications, and public pools open to you",
            tags=["find"], response=OBJ, errors=(401, 403))
def my_pools():
    view = pools.pools_for_technician(current_user.technician)

    def pool(p):
        return {**pool_json(p), "firm": p.firm.name}
    return jsonify({"invitations": [{**member_json(m), "pool": pool(m.pool)}
                                    for m in view.invitations],
                    "memberships": [{**member_json(m), "pool": pool(m.pool)}
                                    for m in view.memberships],
                    "open_pools": [pool(p) for p in view.open_pools]})


@bp.get("/feed")
@technician_required
@documented("Open work you qualify for, nearest first", tags=["find"], response=OBJ,
            errors=(401, 403))
def feed():
    items = feed_for(current_user.technician)
    return jsonify({"data": [{**assignment_json(i.assignment),
                              "firm": i.assignment.firm.name,
                              "distance_km": round(i.distance_km, 2),
                              "explanation": i.explanation} for i in items]})
