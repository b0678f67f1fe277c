"""What find's JSON API takes and returns: the request and response schemas its routes
document in OpenAPI and check requests against."""
from __future__ import annotations

from ..web import schema as js
from ..web.openapi import FILE_TYPES
from . import checklist, csv_import
from .lifecycle import AssignmentStatus
from .models import PoolMemberStatus, PoolVisibility, Pricing, ScheduleKind

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
    "payment_terms_days": js.nullable(js.integer(
        0, 120, description="ignored, kept so older clients are not refused: when a "
        "technician is paid is the firm's payment terms (immediate, 7, 15 or 30 days after "
        "approval), set in its pay settings", deprecated=True)),
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
NUM = {"type": "number"}
INT = {"type": "integer"}
STR = {"type": "string"}
WHEN = {"type": "string", "format": "date-time"}


def out(properties: dict, **extra) -> dict:
    """A response object: every property listed is always sent."""
    return {"type": "object", "required": list(properties), "properties": properties, **extra}


def maybe(schema: dict) -> dict:
    return {**schema, "nullable": True}


ASSIGNMENT_PROPERTIES = {
    "id": INT, "title": STR, "description": STR,
    "status": {"type": "string", "enum": [s.value for s in AssignmentStatus]},
    "address": STR, "lat": NUM, "lon": NUM, "timezone": STR, "radius_km": INT,
    "schedule_kind": js.choice(ScheduleKind), "starts_at": WHEN, "ends_at": WHEN,
    "pricing": js.choice(Pricing), "rate_cents": INT, "hourly_rate_cents": maybe(INT),
    "max_hours": maybe(NUM), "fixed_hours": maybe(NUM), "budget_cents": INT,
    "currency": STR,
    "checklist": {"type": "array", "items": {"type": "object"}},
    "geofence_m": maybe(INT), "requirement_set_id": maybe(INT),
    "sla_response_minutes": maybe(INT), "sla_arrival_minutes": maybe(INT),
    "sla_completion_minutes": maybe(INT),
    "skills": {"type": "array", "items": out({"skill_id": INT, "min_level": INT})},
    "agreed_price_cents": maybe({**INT, "description": "the labour price agreed with the "
                                                        "assignee"}),
    "agreed_expenses_cents": maybe({**INT, "description": "the expenses agreed with the "
                                                           "assignee"}),
    "assignee_id": maybe(INT), "version": INT, "firm_id": INT}
ASSIGNMENT_OUT = out(ASSIGNMENT_PROPERTIES)
ATTACHMENT_OUT = out({
    "id": INT, "assignment_id": maybe(INT), "template_id": maybe(INT), "filename": STR,
    "mime": {"type": "string", "enum": list(FILE_TYPES)}, "size_bytes": INT,
    "created_at": WHEN, "download_url": STR})
TEMPLATE_OUT = out({"id": INT, "name": STR,
                     "data": {"type": "object", "description": "the values it pre-fills"},
                     "created_at": WHEN})
POOL_PROPERTIES = {"id": INT, "name": STR, "description": STR,
                   "visibility": js.choice(PoolVisibility), "requirement_set_id": maybe(INT)}
POOL_OUT = out(POOL_PROPERTIES)
MEMBER_PROPERTIES = {"technician_id": INT, "name": STR,
                     "status": js.choice(PoolMemberStatus),
                     "removed_reason": maybe(STR)}
MEMBER_OUT = out(MEMBER_PROPERTIES)
MATCH_OUT = out({"technician_id": INT, "name": maybe(STR), "distance_km": NUM,
                  "score": NUM, "explanation": STR})
FEED_ITEM_OUT = out({**ASSIGNMENT_PROPERTIES, "firm": STR, "distance_km": NUM,
                      "explanation": STR})


def listing(item: dict) -> dict:
    return out({"data": {"type": "array", "items": item}})


IMPORT_IN = js.obj({
    "csv": js.text(csv_import.MAX_CSV_BYTES,
                   description="a header line, then one assignment per line"),
    "publish": js.boolean(),
    "allow_duplicates": js.boolean(description="create rows with the same title, address "
                                               "and time as another (default: skip them)")},
    required=["csv"], example={
        "csv": "title,address,date,start,end,rate\nKiosk,\"Austin, TX\",2030-06-04,"
               "09:00,10:00,90\n"})
IMPORT_OUT = out({"created": {"type": "array", "items": ASSIGNMENT_OUT},
                   "errors": {"type": "array", "items": out({
                       "line": INT, "fields": {"type": "object",
                                                "additionalProperties": STR}})},
                   "warnings": {"type": "array", "items": out({"line": INT,
                                                                "message": STR})}})
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
_POOL_WITH_FIRM = out({**POOL_PROPERTIES, "firm": STR})
MY_POOLS_OUT = out({
    "invitations": {"type": "array", "items": out({**MEMBER_PROPERTIES,
                                                    "pool": _POOL_WITH_FIRM})},
    "memberships": {"type": "array", "items": out({**MEMBER_PROPERTIES,
                                                    "pool": _POOL_WITH_FIRM})},
    "open_pools": {"type": "array", "items": _POOL_WITH_FIRM}})
LIST_PARAMS = [{"name": "q", "in": "query", "schema": js.line(200, description="in the title "
                                                                              "or address")},
               {"name": "status", "in": "query", "schema": js.choice(AssignmentStatus)}]
