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
from . import attachments, checklist, csv_import, pools
from .access import (
    access_assignment,
    access_assignment_as_reader,
    access_attachment,
    access_membership,
    access_pool,
    access_public_pool,
    access_template,
)
from .lifecycle import AssignmentStatus
from .matching import feed_for, match_technicians
from .models import Assignment, PoolMemberStatus, PoolVisibility, Pricing, ScheduleKind
from .serialize import (
    assignment_json,
    attachment_json,
    member_json,
    pool_json,
    template_json,
)

bp = Blueprint("find_api", __name__)

_DATE = js.nullable(js.line(10, format="date", example="2030-06-03",
                            description="in the site's timezone"))
_TIME = js.nullable(js.line(8, example="09:00", description="HH:MM, site-local"))
CHECKLIST_TASK = js.obj({
    "key": js.line(20, pattern=r"^[a-z0-9_-]{1,20}$"),
    "kind": js.choice(checklist.KINDS),
    "label": js.line(checklist.MAX_LABEL, 1),
    "required": js.boolean(),
    "unit": js.line(20),
    "min": js.number(-1e12, 1e12), "max": js.number(-1e12, 1e12),
    "choices": js.array(js.line(80, 1), 20),
    "min_count": js.integer(1, 20)}, required=["label"])
CHECKLIST_IN = {
    "anyOf": [js.text(checklist.MAX_TASKS * (checklist.MAX_LABEL + 40)),
              js.array({"anyOf": [js.line(checklist.MAX_LABEL + 40), CHECKLIST_TASK]},
                       checklist.MAX_TASKS)],
    "x-error": "Send the checklist as text (one task per line), or a list of lines or tasks.",
    "description": "one task per line (`[photo x2] Photos of the rack`), or a list of such "
                   "lines or of task objects"}
ASSIGNMENT_FIELDS = {
    "title": js.line(160, description="required unless it comes from a template_id or "
                                      "duplicate_of"),
    "description": js.nullable(js.text(20_000)),
    "address": js.line(300, example="2500 Victory Ave, Dallas, TX 75219"),
    "skills": js.nullable({
        "type": "object", "maxProperties": 50,
        "additionalProperties": js.integer(1, 4),
        "x-key-pattern": r"^[1-9][0-9]{0,8}$",
        "description": "skill id (a key like \"12\") -> minimum level 1-4",
        "example": {"12": 2}}),
    "requirement_set_id": js.nullable(js.ident()),
    "radius_km": js.nullable(js.integer(1, 500, description="how far technicians may come "
                                                           "from (default 50)")),
    "schedule_kind": js.choice(ScheduleKind, description="default window"),
    "start_date": _DATE, "end_date": _DATE, "start_time": _TIME, "end_time": _TIME,
    "pricing": js.choice(Pricing, description="default fixed"),
    "rate": js.nullable(js.line(20, example="180.00",
                                description="the fixed price in dollars as typed; or send "
                                            "rate_cents")),
    "rate_cents": js.nullable(js.cents(description="the fixed price in cents")),
    "hourly_rate": js.nullable(js.line(20, example="65.00", description="in dollars as "
                                                                        "typed; or send "
                                                                        "hourly_rate_cents")),
    "hourly_rate_cents": js.nullable(js.cents()),
    "max_hours": js.nullable(js.number(0, 200, description="more than 0")),
    "fixed_hours": js.nullable(js.number(0, 200, description="blended pricing: hours the "
                                                             "fixed price covers")),
    "currency": js.nullable(js.line(3, pattern=r"^([A-Za-z]{3})?$", example="USD",
                                    description="ISO 4217 code (default USD)")),
    "payment_terms_days": js.nullable(js.integer(0, 120, description="default 30")),
    "checklist": CHECKLIST_IN,
    "geofence_m": js.nullable(js.integer(25, 5000, description="check-in radius in metres")),
    "sla_response_minutes": js.nullable(js.integer(5, 10080, description="SLA: accepted within "
                                                   "this many minutes of publishing")),
    "sla_arrival_minutes": js.nullable(js.integer(0, 1440, description="SLA: checked in within "
                                                  "this many minutes of the window's start")),
    "sla_completion_minutes": js.nullable(js.integer(0, 43200, description="SLA: submitted "
                                                     "within this many minutes of the window's "
                                                     "end")),
    "publish": js.boolean(description="publish at once (default false)"),
}
_EXAMPLE = {"title": "Rack and stack", "address": "2500 Victory Ave, Dallas, TX 75219",
            "start_date": "2030-06-03", "start_time": "09:00", "end_time": "11:00",
            "pricing": "fixed", "rate_cents": 18000, "checklist": ["Photo of the rack"]}
ASSIGNMENT_IN = js.obj({
    **ASSIGNMENT_FIELDS,
    "version": js.nullable(js.integer(1, description="the version you read; a newer one "
                                                     "answers 409"))}, example=_EXAMPLE)
ASSIGNMENT_CREATE = js.obj({
    **ASSIGNMENT_FIELDS,
    "template_id": js.ident("start from this template: its values and files, with the "
                            "fields sent here on top (give the date)"),
    "duplicate_of": js.ident("start from a previous assignment the same way")},
    example=_EXAMPLE)
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_WHEN = {"type": "string", "format": "date-time"}


def _out(properties: dict, **extra) -> dict:
    """A response object: every property listed is always sent."""
    return {"type": "object", "required": list(properties), "properties": properties, **extra}


def _maybe(schema: dict) -> dict:
    return {**schema, "nullable": True}


ASSIGNMENT_PROPERTIES = {
    "id": _INT, "title": _STR, "description": _STR,
    "status": {"type": "string", "enum": [s.value for s in AssignmentStatus]},
    "address": _STR, "lat": _NUM, "lon": _NUM, "timezone": _STR, "radius_km": _INT,
    "schedule_kind": js.choice(ScheduleKind), "starts_at": _WHEN, "ends_at": _WHEN,
    "pricing": js.choice(Pricing), "rate_cents": _INT, "hourly_rate_cents": _maybe(_INT),
    "max_hours": _maybe(_NUM), "fixed_hours": _maybe(_NUM), "budget_cents": _INT,
    "currency": _STR, "payment_terms_days": _INT,
    "checklist": {"type": "array", "items": {"type": "object"}},
    "geofence_m": _maybe(_INT), "requirement_set_id": _maybe(_INT),
    "sla_response_minutes": _maybe(_INT), "sla_arrival_minutes": _maybe(_INT),
    "sla_completion_minutes": _maybe(_INT),
    "skills": {"type": "array", "items": _out({"skill_id": _INT, "min_level": _INT})},
    "agreed_price_cents": _maybe({**_INT, "description": "the labour price agreed with the "
                                                        "assignee"}),
    "agreed_expenses_cents": _maybe({**_INT, "description": "the expenses agreed with the "
                                                           "assignee"}),
    "assignee_id": _maybe(_INT), "version": _INT, "firm_id": _INT}
ASSIGNMENT_OUT = _out(ASSIGNMENT_PROPERTIES)
ATTACHMENT_OUT = _out({
    "id": _INT, "assignment_id": _maybe(_INT), "template_id": _maybe(_INT), "filename": _STR,
    "mime": {"type": "string", "enum": list(FILE_TYPES)}, "size_bytes": _INT,
    "created_at": _WHEN, "download_url": _STR})
TEMPLATE_OUT = _out({"id": _INT, "name": _STR,
                     "data": {"type": "object", "description": "the values it pre-fills"},
                     "created_at": _WHEN})
POOL_PROPERTIES = {"id": _INT, "name": _STR, "description": _STR,
                   "visibility": js.choice(PoolVisibility), "requirement_set_id": _maybe(_INT)}
POOL_OUT = _out(POOL_PROPERTIES)
MEMBER_PROPERTIES = {"technician_id": _INT, "name": _STR,
                     "status": js.choice(PoolMemberStatus),
                     "removed_reason": _maybe(_STR)}
MEMBER_OUT = _out(MEMBER_PROPERTIES)
MATCH_OUT = _out({"technician_id": _INT, "name": _maybe(_STR), "distance_km": _NUM,
                  "score": _NUM, "explanation": _STR})
FEED_ITEM_OUT = _out({**ASSIGNMENT_PROPERTIES, "firm": _STR, "distance_km": _NUM,
                      "explanation": _STR})


def _list(item: dict) -> dict:
    return _out({"data": {"type": "array", "items": item}})


IMPORT_IN = js.obj({
    "csv": js.text(csv_import.MAX_CSV_BYTES,
                   description="a header line, then one assignment per line"),
    "publish": js.boolean(),
    "allow_duplicates": js.boolean(description="create rows with the same title, address "
                                               "and time as another (default: skip them)")},
    required=["csv"], example={
        "csv": "title,address,date,start,end,rate\nKiosk,\"Austin, TX\",2030-06-04,"
               "09:00,10:00,90\n"})
IMPORT_OUT = _out({"created": {"type": "array", "items": ASSIGNMENT_OUT},
                   "errors": {"type": "array", "items": _out({
                       "line": _INT, "fields": {"type": "object",
                                                "additionalProperties": _STR}})},
                   "warnings": {"type": "array", "items": _out({"line": _INT,
                                                                "message": _STR})}})
TEMPLATE_IN = js.obj({"assignment_id": js.ident("the assignment to save"),
                      "name": js.nullable(js.line(120, description="default: its title"))},
                     required=["assignment_id"], example={"assignment_id": 42,
                                                          "name": "Kiosk refresh"})
POOL_IN = js.obj({"name": js.line(120, 1),
                  "description": js.nullable(js.text(5000)),
                  "visibility": js.choice(PoolVisibility, description="default private"),
                  "requirement_set_id": js.nullable(js.ident())},
                 required=["name"], example={"name": "Dallas low voltage",
                                             "visibility": "invite_only"})
MEMBER_IN = js.obj({"technician_id": js.ident(),
                    "action": js.choice(["add", "invite", "approve", "remove"],
                                        description="default add: like invite (the "
                                        "technician accepts to join), checked against the "
                                        "pool's requirements now")},
                   required=["technician_id"], example={"technician_id": 7, "action": "invite"})
UPLOAD_IN = {"type": "object", "required": ["file"],
             "properties": {"file": {"type": "string", "format": "binary"}}}
_POOL_WITH_FIRM = _out({**POOL_PROPERTIES, "firm": _STR})
MY_POOLS_OUT = _out({
    "invitations": {"type": "array", "items": _out({**MEMBER_PROPERTIES,
                                                    "pool": _POOL_WITH_FIRM})},
    "memberships": {"type": "array", "items": _out({**MEMBER_PROPERTIES,
                                                    "pool": _POOL_WITH_FIRM})},
    "open_pools": {"type": "array", "items": _POOL_WITH_FIRM}})
LIST_PARAMS = [{"name": "q", "in": "query", "schema": js.line(200, description="in the title "
                                                                              "or address")},
               {"name": "status", "in": "query", "schema": js.choice(AssignmentStatus)}]


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
            response=_list(MATCH_OUT), errors=(403,))
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
            "for it, applied, or are assigned)", tags=["find"], response=_list(ATTACHMENT_OUT))
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
            response=_out({"deleted": _INT}), errors=(403, 409))
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
            response=_out({**TEMPLATE_OUT["properties"], "prefill": {
                "type": "object", "description": "a body for POST /assignments, "
                                                "less the date"}}), errors=(403,))
def get_template(template_id: int):
    t = access_template(current_user, template_id)
    return jsonify({**template_json(t), "prefill": templates_svc.prefill_from_template(t)})


@bp.get("/pools")
@firm_required()
@documented("Your firm's talent pools", tags=["find"], response=_list(POOL_OUT), errors=(403,))
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
@documented("A pool and its members", tags=["find"], errors=(403,), response=_out({
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
            response=_list(FEED_ITEM_OUT), errors=(403,))
def feed():
    items = feed_for(current_user.technician)
    return jsonify({"data": [{**assignment_json(i.assignment),
                              "firm": i.assignment.firm.name,
                              "distance_km": round(i.distance_km, 2),
                              "explanation": i.explanation} for i in items]})
