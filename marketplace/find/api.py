"""Find over JSON: assignments, templates, pools, matches and the work feed."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.access import firm_required, login_required, technician_required
from ..core.uploads import Upload, file_response
from ..errors import ValidationFailed
from ..extensions import db
from ..web import schema as js
from ..web.api import json_body, query_args
from ..web.openapi import FILE_TYPES, documented
from ..web.pagination import page_args, paginate
from . import assignment_templates as templates_svc
from . import assignments as svc
from . import attachments, csv_import, pools
from .api_schemas import (
    ASSIGNMENT_CREATE,
    ASSIGNMENT_IN,
    ASSIGNMENT_OUT,
    ATTACHMENT_OUT,
    FEED_ITEM_OUT,
    IMPORT_IN,
    IMPORT_OUT,
    INT,
    LIST_PARAMS,
    MATCH_OUT,
    MEMBER_IN,
    MEMBER_OUT,
    MY_POOLS_OUT,
    POOL_IN,
    POOL_OUT,
    POOL_PROPERTIES,
    TEMPLATE_IN,
    TEMPLATE_OUT,
    UPLOAD_IN,
    listing,
    out,
)
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
from .models import Assignment
from .serialize import (
    assignment_json,
    attachment_json,
    member_json,
    pool_json,
    template_json,
)

bp = Blueprint("find_api", __name__)


@bp.get("/assignments")
@firm_required()
@documented("Your firm's assignments (filter by status, search by q)", tags=["find"],
            paginated=True, params=LIST_PARAMS, response=ASSIGNMENT_OUT, errors=(403,))
def list_assignments():
    page, per_page = page_args(request.args)
    args = query_args()
    stmt = svc.list_assignments(current_user, status=args.get("status"),
                                q=args.get("q")).options(selectinload(Assignment.skills))
    return jsonify(paginate(stmt, page, per_page).to_json(assignment_json))


@bp.post("/assignments")
@firm_required()
@documented("Create an assignment (optionally publish it), from scratch, from a template "
            "(`template_id`) or as a duplicate of a previous one (`duplicate_of`)",
            tags=["find"], request=ASSIGNMENT_CREATE, response=ASSIGNMENT_OUT, status=201,
            errors=(403, 404, 409))
def create_assignment():
    data = dict(json_body())
    source, prefill = templates_svc.starting_point(
        current_user, template_id=data.pop("template_id", None),
        duplicate_of=data.pop("duplicate_of", None))
    if source is not None:
        data = templates_svc.with_overrides(prefill, data)
    a = svc.create_assignment(current_user, data, publish=bool(data.get("publish")),
                              files_from=source)
    return jsonify(assignment_json(a)), 201


@bp.get("/assignments/<int:assignment_id>")
@firm_required()
@documented("One assignment", tags=["find"], response=ASSIGNMENT_OUT, errors=(403,))
def get_assignment(assignment_id: int):
    return jsonify(assignment_json(access_assignment(current_user, assignment_id)))


@bp.put("/assignments/<int:assignment_id>")
@firm_required()
@documented("Replace an assignment's details (send `version` to guard against lost updates)",
            tags=["find"], request=ASSIGNMENT_IN, response=ASSIGNMENT_OUT, errors=(403, 409))
def update_assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    data = json_body()
    svc.update_assignment(current_user, a, data, expected_version=data.get("version"))
    return jsonify(assignment_json(a))


@bp.post("/assignments/<int:assignment_id>/publish")
@firm_required()
@documented("Publish a draft", tags=["find"], response=ASSIGNMENT_OUT, errors=(403, 409))
def publish_assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    svc.publish_assignment(current_user, a)
    return jsonify(assignment_json(a))


@bp.get("/assignments/<int:assignment_id>/matches")
@firm_required()
@documented("The best-matching technicians, nearest first, each with an explanation",
            tags=["find"], params=[{"name": "k", "in": "query",
                                    "schema": js.integer(1, 200, default=50)}],
            response=listing(MATCH_OUT), errors=(403,))
def matches(assignment_id: int):
    k = query_args().get("k", 50)
    a = access_assignment(current_user, assignment_id)
    found = match_technicians(a, k=k)
    from ..accounts.models import TechnicianProfile
    names = {t.id: t.name for t in db.session.scalars(select(TechnicianProfile).where(
        TechnicianProfile.id.in_([m.technician_id for m in found]))
        .options(joinedload(TechnicianProfile.user)))}
    return jsonify({"data": [{"technician_id": m.technician_id,
                              "name": names.get(m.technician_id),
                              "distance_km": round(m.distance_km, 2), "score": m.score,
                              "explanation": m.explanation} for m in found]})


@bp.get("/assignments/<int:assignment_id>/attachments")
@login_required
@documented("An assignment's files (the firm's members; technicians once they have an offer "
            "for it, applied, or are assigned)", tags=["find"], response=listing(ATTACHMENT_OUT))
def list_attachments(assignment_id: int):
    a = access_assignment_as_reader(current_user, assignment_id)
    return jsonify({"data": [attachment_json(f) for f in attachments.list_attachments(a)]})


@bp.post("/assignments/<int:assignment_id>/attachments")
@firm_required()
@documented("Attach a file: send multipart/form-data with a `file` part (PDF, JPEG or PNG, "
            "checked by content; at most UPLOAD_MAX_BYTES)", tags=["find"], status=201,
            request=UPLOAD_IN, request_content="multipart/form-data", response=ATTACHMENT_OUT,
            errors=(403, 409))
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
            files=FILE_TYPES)
def download_attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    return file_response(attachments.read_attachment(att), att.mime, att.filename)


@bp.delete("/attachments/<int:attachment_id>")
@firm_required()
@documented("Remove a file while its assignment is a draft or published", tags=["find"],
            response=out({"deleted": INT}), errors=(403, 409))
def delete_attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    attachments.delete_attachment(current_user, att)
    return jsonify({"deleted": attachment_id})


@bp.post("/assignments/import")
@firm_required()
@documented("Create assignments from CSV text; bad rows are reported and create nothing",
            tags=["find"], request=IMPORT_IN, response=IMPORT_OUT, errors=(403,))
def import_assignments():
    data = json_body()
    report = csv_import.import_csv(current_user, data["csv"], publish=data.get("publish", False),
                                   allow_duplicates=data.get("allow_duplicates", False),
                                   field="csv")
    return jsonify({"created": [assignment_json(a) for a in report.created],
                    "errors": [{"line": line, "fields": f} for line, f in report.errors],
                    "warnings": [{"line": line, "message": m} for line, m in report.warnings]})


@bp.get("/templates")
@firm_required()
@documented("Your firm's assignment templates", tags=["find"], paginated=True,
            response=TEMPLATE_OUT, errors=(403,))
def list_templates():
    page, per_page = page_args(request.args)
    return jsonify(paginate(templates_svc.list_templates(current_user), page, per_page)
                   .to_json(template_json))


@bp.post("/templates")
@firm_required()
@documented("Save an assignment as a template", tags=["find"], status=201,
            request=TEMPLATE_IN, response=TEMPLATE_OUT, errors=(403, 404))
def create_template():
    data = json_body()
    a = access_assignment(current_user, data["assignment_id"])
    t = templates_svc.save_as_template(current_user, a, data.get("name") or "")
    return jsonify(template_json(t)), 201


@bp.get("/templates/<int:template_id>")
@firm_required()
@documented("One template with its pre-fill values (everything but the date)", tags=["find"],
            response=out({**TEMPLATE_OUT["properties"], "prefill": {
                "type": "object", "description": "a body for POST /assignments, "
                                                "less the date"}}), errors=(403,))
def get_template(template_id: int):
    t = access_template(current_user, template_id)
    return jsonify({**template_json(t), "prefill": templates_svc.prefill_from_template(t)})


@bp.get("/pools")
@firm_required()
@documented("Your firm's talent pools", tags=["find"], response=listing(POOL_OUT), errors=(403,))
def list_pools():
    from .models import TalentPool
    rows = db.session.scalars(select(TalentPool).where(
        TalentPool.firm_id == current_user.membership.firm_id).order_by(TalentPool.name))
    return jsonify({"data": [pool_json(p) for p in rows]})


@bp.post("/pools")
@firm_required()
@documented("Create a talent pool", tags=["find"], status=201, request=POOL_IN,
            response=POOL_OUT, errors=(403,))
def create_pool():
    data = json_body()
    p = pools.create_pool(current_user, name=data["name"],
                          description=data.get("description") or "",
                          visibility=data.get("visibility", "private"),
                          requirement_set_id=data.get("requirement_set_id"))
    return jsonify(pool_json(p)), 201


@bp.get("/pools/<int:pool_id>")
@firm_required()
@documented("A pool and its members", tags=["find"], errors=(403,), response=out({
    **POOL_PROPERTIES, "members": {"type": "array", "items": MEMBER_OUT}}))
def get_pool(pool_id: int):
    p = access_pool(current_user, pool_id)
    return jsonify({**pool_json(p), "members": [member_json(m) for m in pools.list_members(p)]})


@bp.post("/pools/<int:pool_id>/members")
@firm_required()
@documented("Invite (add), approve or remove a technician", tags=["find"], request=MEMBER_IN,
            response=MEMBER_OUT, errors=(403, 404, 409))
def pool_member(pool_id: int):
    p = access_pool(current_user, pool_id)
    data = json_body()
    action = {"add": pools.add_member, "invite": pools.invite,
              "approve": pools.approve_application,
              "remove": pools.remove_member}[data.get("action", "add")]
    member = action(current_user, p, data["technician_id"])
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/join")
@technician_required
@documented("Apply to a public pool, or accept an invitation", tags=["find"],
            response=MEMBER_OUT, errors=(403, 409, 422))
def join_pool(pool_id: int):
    p = access_public_pool(current_user, pool_id)
    member = pools.join(current_user.technician, p)
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/decline")
@technician_required
@documented("Decline an invitation to a pool", tags=["find"], response=MEMBER_OUT,
            errors=(403, 409))
def decline_pool(pool_id: int):
    member = pools.decline_invitation(current_user.technician,
                                      access_membership(current_user, pool_id))
    return jsonify(member_json(member))


@bp.post("/pools/<int:pool_id>/leave")
@technician_required
@documented("Leave a pool, or withdraw an application", tags=["find"], response=MEMBER_OUT,
            errors=(403, 409))
def leave_pool(pool_id: int):
    member = pools.leave(current_user.technician, access_membership(current_user, pool_id))
    return jsonify(member_json(member))


@bp.get("/my/pools")
@technician_required
@documented("Your invitations, your pools and applications, and public pools open to you",
            tags=["find"], response=MY_POOLS_OUT, errors=(403,))
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
@documented("Open work you qualify for, nearest first", tags=["find"],
            response=listing(FEED_ITEM_OUT), errors=(403,))
def feed():
    items = feed_for(current_user.technician)
    return jsonify({"data": [{**assignment_json(i.assignment),
                              "firm": i.assignment.firm.name,
                              "distance_km": round(i.distance_km, 2),
                              "explanation": i.explanation} for i in items]})
