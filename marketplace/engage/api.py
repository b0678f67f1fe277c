"""Engage over JSON: routing, offers, counteroffers and transitions."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import firm_required, technician_required
from ..core import audit
from ..errors import ValidationFailed
from ..web.api import json_body
from ..web.openapi import documented
from ..web.pagination import page_args, paginate
from . import backfill, offers, routing
from .access import (
    access_counteroffer,
    access_offer,
    firm_assignment,
    technician_assignment,
)
from .models import Counteroffer, Offer, RoutingMode, TargetKind

bp = Blueprint("engage_api", __name__)

OFFER_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "assignment_id": {"type": "integer"},
    "technician_id": {"type": "integer"}, "status": {"type": "string"},
    "source": {"type": "string"}, "price_cents": {"type": "integer"},
    "expires_at": {"type": "string", "format": "date-time"},
    "pending_counteroffer": {"type": "object", "nullable": True}}}
STAGE_SCHEMA = {"type": "object", "required": ["target"], "properties": {
    "target": {"type": "string", "enum": [t.value for t in TargetKind]},
    "after_minutes": {"type": "integer", "minimum": 0},
    "technician_ids": {"type": "array", "items": {"type": "integer"}},
    "pool_ids": {"type": "array", "items": {"type": "integer"}},
    "top_k": {"type": "integer", "minimum": 1, "maximum": 100}}}
ROUTE_SCHEMA = {"type": "object", "required": ["mode", "stages"], "properties": {
    "mode": {"type": "string", "enum": [m.value for m in RoutingMode]},
    "stages": {"type": "array", "items": STAGE_SCHEMA},
    "offer_ttl_hours": {"type": "integer"}, "cancellation_cutoff_hours": {"type": "integer"},
    "cancellation_fee_cents": {"type": "integer"}, "standby_size": {"type": "integer"}}}
REASON_SCHEMA = {"type": "object", "required": ["reason"],
                 "properties": {"reason": {"type": "string"}}}
COUNTER_SCHEMA = {"type": "object", "required": ["price_cents"], "properties": {
    "price_cents": {"type": "integer"}, "expenses_cents": {"type": "integer"},
    "starts_at": {"type": "string", "format": "date-time"},
    "ends_at": {"type": "string", "format": "date-time"}, "note": {"type": "string"}}}


def _iso(value):
    return value.isoformat() if value else None


def counter_json(c: Counteroffer | None) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "proposed_by": c.proposed_by, "price_cents": c.price_cents,
            "expenses_cents": c.expenses_cents, "starts_at": _iso(c.starts_at),
            "ends_at": _iso(c.ends_at), "note": c.note, "status": c.status.value}


def offer_json(o: Offer) -> dict:
    return {"id": o.id, "assignment_id": o.assignment_id, "technician_id": o.technician_id,
            "status": o.status.value, "source": o.source.value, "price_cents": o.price_cents,
            "expires_at": _iso(o.expires_at), "decline_reason": o.decline_reason,
            "pending_counteroffer": counter_json(o.pending_counteroffer)}


def _int(body: dict, key: str, default=None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(key, "Send a whole number.")
    return value


def _when(body: dict, key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed.field(key, "Send an ISO 8601 date-time with a UTC offset.") from None
    if parsed.tzinfo is None:
        raise ValidationFailed.field(key, "Include the UTC offset.")
    return parsed


def _stage(raw) -> routing.StagePlan:
    if not isinstance(raw, dict):
        raise ValidationFailed.field("stages", "Each stage is an object.")
    try:
        target = TargetKind(raw.get("target"))
    except ValueError:
        raise ValidationFailed.field("stages", "Unknown stage target.") from None
    ids = lambda k: [i for i in raw.get(k, []) if isinstance(i, int)]  # noqa: E731
    return routing.StagePlan(target, after_minutes=_int(raw, "after_minutes", 0),
                             technician_ids=ids("technician_ids"), pool_ids=ids("pool_ids"),
                             top_k=_int(raw, "top_k"))


@bp.post("/assignments/<int:assignment_id>/route")
@firm_required()
@documented("Route an assignment (staged plan)", tags=["engage"], request=ROUTE_SCHEMA,
            errors=(401, 403, 404, 409, 422))
def route(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    body = json_body()
    try:
        mode = RoutingMode(body.get("mode"))
    except ValueError:
        raise ValidationFailed.field("mode", "Use first_to_accept or apply_and_choose.") from None
    stages = body.get("stages")
    if not isinstance(stages, list):
        raise ValidationFailed.field("stages", "Send a list of stages.")
    routing.route_assignment(current_user, assignment, mode=mode, stages=[_stage(s) for s in stages],
                             offer_ttl_hours=_int(body, "offer_ttl_hours", 24),
                             cancellation_cutoff_hours=_int(body, "cancellation_cutoff_hours", 24),
                             cancellation_fee_cents=_int(body, "cancellation_fee_cents", 0),
                             standby_size=_int(body, "standby_size", 5))
    return jsonify({"assignment_id": assignment.id, "status": assignment.status.value,
                    "offers": [offer_json(o) for o in offers.list_assignment_offers(assignment)]})


@bp.get("/assignments/<int:assignment_id>/offers")
@firm_required()
@documented("Offers, applicants and counteroffers on an assignment", tags=["engage"],
            response={"type": "array", "items": OFFER_SCHEMA})
def assignment_offers(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    return jsonify([offer_json(o) for o in offers.list_assignment_offers(assignment)])


@bp.get("/assignments/<int:assignment_id>/timeline")
@firm_required()
@documented("Every transition of an assignment, oldest first", tags=["engage"])
def timeline(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    return jsonify([{"action": e.action, "at": _iso(e.occurred_at), "actor_id": e.actor_id,
                     "before": e.before, "after": e.after}
                    for e in audit.list_for_subject("assignments", assignment.id)])


@bp.post("/assignments/<int:assignment_id>/cancel")
@firm_required()
@documented("Cancel an assignment (fee after the cutoff)", tags=["engage"], request=REASON_SCHEMA,
            errors=(401, 403, 404, 409, 422))
def cancel(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    record = backfill.cancel_assignment(current_user, assignment, str(json_body().get("reason", "")))
    return jsonify({"status": assignment.status.value, "fee_cents": record.fee_cents})


@bp.post("/assignments/<int:assignment_id>/back-out")
@technician_required
@documented("Back out of assigned work (triggers backfill)", tags=["engage"],
            request=REASON_SCHEMA, errors=(401, 403, 404, 409, 422))
def back_out(assignment_id: int):
    assignment = technician_assignment(current_user, assignment_id)
    backfill.back_out(current_user, assignment, str(json_body().get("reason", "")))
    return jsonify({"status": assignment.status.value})


@bp.get("/offers")
@technician_required
@documented("Your offers, newest first", tags=["engage"], paginated=True, response=OFFER_SCHEMA)
def my_offers():
    page, per_page = page_args(request.args)
    stmt = select(Offer).where(Offer.technician_id == current_user.technician.id) \
        .order_by(Offer.created_at.desc(), Offer.id.desc())
    return jsonify(paginate(stmt, page, per_page).to_json(offer_json))


@bp.post("/offers/<int:offer_id>/<any(accept, apply, decline, choose):action>")
@documented("Accept, apply, decline (technician) or choose (firm)", tags=["engage"],
            request={"type": "object", "properties": {"reason": {"type": "string"}}},
            response=OFFER_SCHEMA, errors=(401, 403, 404, 409, 422))
def act_on_offer(offer_id: int, action: str):
    offer = access_offer(current_user, offer_id)
    if action == "accept":
        offers.accept_offer(current_user, offer)
    elif action == "apply":
        offers.apply_to_offer(current_user, offer)
    elif action == "decline":
        offers.decline_offer(current_user, offer, str((request.get_json(silent=True) or {}).get("reason", "")))
    else:
        offers.choose_applicant(current_user, offer)
    return jsonify(offer_json(offer))


@bp.post("/offers/<int:offer_id>/counteroffers")
@documented("Propose a counteroffer (either side)", tags=["engage"], request=COUNTER_SCHEMA,
            status=201, errors=(401, 403, 404, 409, 422))
def propose(offer_id: int):
    offer = access_offer(current_user, offer_id)
    body = json_body()
    counter = offers.propose_counteroffer(
        current_user, offer, price_cents=_int(body, "price_cents", 0),
        expenses_cents=_int(body, "expenses_cents", 0), starts_at=_when(body, "starts_at"),
        ends_at=_when(body, "ends_at"), note=str(body.get("note", "")))
    return jsonify(counter_json(counter)), 201


@bp.post("/counteroffers/<int:counteroffer_id>/<any(accept, reject):decision>")
@documented("Accept or reject the other side's counteroffer", tags=["engage"],
            errors=(401, 403, 404, 409))
def decide(counteroffer_id: int, decision: str):
    counter = access_counteroffer(current_user, counteroffer_id)
    offers.decide_counteroffer(current_user, counter, decision == "accept")
    return jsonify({"counteroffer": counter_json(counter), "offer": offer_json(counter.offer)})
