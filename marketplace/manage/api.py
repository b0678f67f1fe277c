"""Manage over JSON: a firm's integration reads work in progress; a technician's app
posts check-ins, answers and proof with an Idempotency-Key."""
from __future__ import annotations


from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..accounts.access import firm_required, login_required, technician_required
from ..extensions import db
from ..web import schema as s
from ..web.api import json_body
from ..web.openapi import documented
from . import changes, day, proof, review, sync, visits
from .access import access_work
from .uploads_in import action_with_file
from .models import EXPENSE_CATEGORIES, ChangeKind, WorkRecord

bp = Blueprint("manage_api", __name__)

POSITION = s.obj({"lat": s.number(-90, 90), "lon": s.number(-180, 180),
                  "accuracy": s.number(0, 10_000_000, description="95% radius in metres"),
                  "taken_at": s.line(40, description="when the fix was taken (ISO 8601)")},
                 required=("lat", "lon", "accuracy"))
RECORDED_AT = s.line(40, description="when it happened on the device (ISO 8601 with offset)",
                     example="2026-12-08T15:02:11Z")
CHECK_SCHEMA = s.obj({"recorded_at": RECORDED_AT, "position": s.nullable(POSITION),
                      "reason": s.text(300, description="why, when outside the site")},
                     required=("recorded_at",))
ANSWER_SCHEMA = s.obj({"recorded_at": RECORDED_AT, "task": s.line(20),
                       "value": s.obj({"done": s.boolean(), "text": s.text(5000),
                                       "number": s.number(-1e12, 1e12),
                                       "choice": s.line(80)})},
                      required=("recorded_at", "task", "value"))
ACTION_SCHEMA = s.obj({
    "key": s.line(64, 8, description="the client's idempotency key", pattern=r"^[A-Za-z0-9_-]+$"),
    "action": s.choice(["check_in", "check_out", "answer"]),
    "assignment_id": s.ident(), "recorded_at": RECORDED_AT,
    "data": s.obj({}, additional=True)}, required=("key", "action", "assignment_id",
                                                   "recorded_at"))
SYNC_SCHEMA = s.obj({"actions": s.array(ACTION_SCHEMA, sync.MAX_BATCH)}, required=("actions",))
NOTE_SCHEMA = s.obj({"note": s.text(2000)})
REASON_SCHEMA = s.obj({"reason": s.text(2000, min_length=1)}, required=("reason",))
CHANGE_SCHEMA = s.obj({"kind": s.choice([k.value for k in ChangeKind]),
                       "amount_cents": s.cents(minimum=1),
                       "category": s.choice(list(EXPENSE_CATEGORIES)),
                       "reason": s.text(500, min_length=1)},
                      required=("kind", "amount_cents", "category", "reason"))
DECISION_SCHEMA = s.obj({"approve": s.boolean(), "reason": s.text(500)}, required=("approve",))
OUTCOME_SCHEMA = {"type": "object", "required": ["key", "status", "result", "duplicate"],
                  "properties": {"key": {"type": "string"}, "status": {"type": "integer"},
                                 "result": {"type": "object"},
                                 "duplicate": {"type": "boolean"}}}
WORK_SCHEMA = {"type": "object", "properties": {
    "assignment_id": {"type": "integer"}, "status": {"type": "string"},
    "arrival": {"type": "string", "nullable": True},
    "no_show_at": {"type": "string", "format": "date-time", "nullable": True},
    "revisits": {"type": "integer"},
    "seconds_on_site": {"type": "integer"},
    "visits": {"type": "array", "items": {"type": "object"}},
    "tasks": {"type": "array", "items": {"type": "object"}},
    "changes": {"type": "array", "items": {"type": "object"}}}}
IDEMPOTENCY = [{"name": "Idempotency-Key", "in": "header", "required": True,
                "schema": {"type": "string", "minLength": 8, "maxLength": 64},
                "description": "A key the client makes per action; a repeat returns the "
                               "first result."}]


def _iso(value):
    return value.isoformat() if value else None


def work_json(a) -> dict:
    record = db.session.get(WorkRecord, a.id)
    return {
        "assignment_id": a.id, "status": a.status.value,
        "arrival": record.arrival.value if record and record.arrival else None,
        "no_show_at": _iso(record.no_show_at) if record else None,
        "revisits": record.revisits if record else 0,
        "seconds_on_site": visits.seconds_on_site(a.id),
        "visits": [{"number": v.number, "checkin_at": _iso(v.checkin_at),
                    "checkin_geofence": v.checkin_geofence.value,
                    "checkin_distance_m": v.checkin_distance_m, "checkin_reason": v.checkin_reason,
                    "checkout_at": _iso(v.checkout_at),
                    "checkout_geofence": v.checkout_geofence.value if v.checkout_geofence else None,
                    "seconds_on_site": v.seconds_on_site} for v in visits.visits_of(a)],
        "tasks": [{"key": t["task"]["key"], "kind": t["task"]["kind"],
                   "label": t["task"]["label"], "required": t["task"].get("required", True),
                   "done": t["done"], "value": t["answer"].value if t["answer"] else None,
                   "files": [{"id": f.id, "mime": f.mime, "captured_at": _iso(f.captured_at),
                              "signer_name": f.signer_name} for f in t["files"]]}
                  for t in proof.progress(a)],
        "changes": [{"id": c.id, "kind": c.kind.value, "amount_cents": c.amount_cents,
                     "currency": c.currency, "category": c.category, "reason": c.reason,
                     "status": c.status.value} for c in changes.changes_of(a)],
    }


@bp.get("/work/<int:work_id>")
@login_required
@documented("Work on site: visits, tasks and proof, change requests", tags=["manage"],
            response=WORK_SCHEMA, errors=(404,))
def get_work(work_id: int):
    return jsonify(work_json(access_work(current_user, work_id)))


@bp.get("/today")
@technician_required
@documented("The technician's schedule: work in progress, today, this week", tags=["manage"],
            response={"type": "object"}, errors=(403,))
def today():
    plan = day.today_and_week(current_user.technician)

    def stop(item):
        a = item.assignment
        return {"assignment_id": a.id, "title": a.title, "address": a.address,
                "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at),
                "timezone": a.timezone, "status": a.status.value, "flags": item.flags,
                "firm": a.firm.name, "map": item.map_urls}
    return jsonify({"next": stop(plan["next"]) if plan["next"] else None,
                    "today": [stop(i) for i in plan["today"]],
                    "week": [stop(i) for i in plan["week"]],
                    "waiting": [stop(i) for i in plan["waiting"]]})


def _single(action: str, assignment_id: int, body: dict) -> tuple:
    key = request.headers.get("Idempotency-Key", "")
    data = {k: v for k, v in body.items() if k != "recorded_at"}
    outcome = sync.apply(current_user, {"key": key, "action": action,
                                        "assignment_id": assignment_id,
                                        "recorded_at": body.get("recorded_at"), "data": data})
    return _respond(outcome)


def _respond(outcome: sync.Outcome):
    """A refused action answers the documented error JSON; a repeat says it is one."""
    body = outcome.result if outcome.status >= 400 else outcome.as_dict()
    response = jsonify(body)
    response.status_code = outcome.status
    if outcome.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/work/<int:work_id>/check-in")
@technician_required
@documented("Check in (position and device time; flagged, never blocked, when outside)",
            tags=["manage"], request=CHECK_SCHEMA, response=OUTCOME_SCHEMA, status=201,
            params=IDEMPOTENCY, errors=(403, 404, 409, 422))
def check_in(work_id: int):
    access_work(current_user, work_id)  # another's work is a 404 before the body is read
    return _single("check_in", work_id, json_body())


@bp.post("/work/<int:work_id>/check-out")
@technician_required
@documented("Check out", tags=["manage"], request=CHECK_SCHEMA, response=OUTCOME_SCHEMA,
            status=201, params=IDEMPOTENCY, errors=(403, 404, 409, 422))
def check_out(work_id: int):
    access_work(current_user, work_id)  # another's work is a 404 before the body is read
    return _single("check_out", work_id, json_body())


@bp.post("/work/<int:work_id>/answers")
@technician_required
@documented("Answer a task (confirm, text, number, choice)", tags=["manage"],
            request=ANSWER_SCHEMA, response=OUTCOME_SCHEMA, params=IDEMPOTENCY,
            errors=(403, 404, 409, 422))
def answer(work_id: int):
    access_work(current_user, work_id)  # another's work is a 404 before the body is read
    return _single("answer", work_id, json_body())


@bp.post("/work/<int:work_id>/proof")
@technician_required
@documented("Add a photo, signature or file to a task (multipart: file, and `action` JSON "
            "with recorded_at, task, signer_name, position)", tags=["manage"],
            request={"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"},
                "action": {"type": "string", "description": "JSON: recorded_at, task, "
                                                             "signer_name, position"}}},
            request_content="multipart/form-data", response=OUTCOME_SCHEMA, status=201,
            params=IDEMPOTENCY, errors=(403, 404, 409, 413, 422))
def add_proof(work_id: int):
    access_work(current_user, work_id)
    meta, upload = action_with_file()
    outcome = sync.apply(current_user, {
        "key": request.headers.get("Idempotency-Key", ""), "action": "proof",
        "assignment_id": work_id, "recorded_at": meta.get("recorded_at"),
        "data": {k: v for k, v in meta.items() if k != "recorded_at"}}, upload)
    return _respond(outcome)


@bp.post("/work/sync")
@technician_required
@documented("Replay a queue of actions recorded offline, in order; each key applies once",
            tags=["manage"], request=SYNC_SCHEMA,
            response={"type": "object", "properties": {
                "results": {"type": "array", "items": OUTCOME_SCHEMA}}},
            errors=(403, 422))
def sync_queue():
    body = json_body()
    return jsonify({"results": [o.as_dict() for o in sync.apply_batch(current_user,
                                                                      body["actions"])]})


@bp.post("/work/<int:work_id>/submit")
@technician_required
@documented("Submit the work for approval (checked out, required tasks complete)",
            tags=["manage"], request=NOTE_SCHEMA, response=WORK_SCHEMA,
            errors=(403, 404, 409, 422))
def submit(work_id: int):
    a = access_work(current_user, work_id)
    review.submit(current_user, a, json_body().get("note") or "")
    return jsonify(work_json(a))


@bp.post("/work/<int:work_id>/approve")
@firm_required()
@documented("Approve submitted work; answers the final amounts", tags=["manage"],
            response={"type": "object", "properties": {
                "labour_cents": {"type": "integer"}, "expenses_cents": {"type": "integer"},
                "total_cents": {"type": "integer"}, "currency": {"type": "string"},
                "seconds_on_site": {"type": "integer"}}},
            errors=(403, 404, 409))
def approve(work_id: int):
    a = access_work(current_user, work_id)
    return jsonify(review.approve(current_user, a).as_dict())


@bp.post("/work/<int:work_id>/send-back")
@firm_required()
@documented("Send submitted work back with what to redo (a revisit)", tags=["manage"],
            request=REASON_SCHEMA, response=WORK_SCHEMA, errors=(403, 404, 409, 422))
def send_back(work_id: int):
    a = access_work(current_user, work_id)
    review.send_back(current_user, a, json_body()["reason"])
    return jsonify(work_json(a))


@bp.post("/work/<int:work_id>/changes")
@technician_required
@documented("Ask for an expense or a budget increase", tags=["manage"], request=CHANGE_SCHEMA,
            response={"type": "object"}, status=201, errors=(403, 404, 409, 422))
def request_change(work_id: int):
    a = access_work(current_user, work_id)
    body = json_body()
    change = changes.request_change(current_user, a, kind=body["kind"],
                                    amount=body["amount_cents"], category=body["category"],
                                    reason=body["reason"])
    return jsonify({"id": change.id, "status": change.status.value}), 201


@bp.post("/changes/<int:change_id>/decision")
@firm_required()
@documented("Approve or decline an expense or budget increase", tags=["manage"],
            request=DECISION_SCHEMA, response={"type": "object"}, errors=(403, 404, 409, 422))
def decide_change(change_id: int):
    change = changes.access_change(current_user, change_id)
    body = json_body()
    changes.decide_change(current_user, change, body["approve"], body.get("reason") or "")
    return jsonify({"id": change.id, "status": change.status.value})
