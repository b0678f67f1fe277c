"""Engage over JSON: routing, offers, counteroffers and transitions."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..accounts.access import firm_required, technician_required
from ..core import audit
from ..core.money import MAX_CENTS, cents
from ..errors import ValidationFailed
from ..web import schema as js
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
from .models import (
    Counteroffer,
    CounterStatus,
    Offer,
    OfferSource,
    OfferStatus,
    RoutingMode,
    TargetKind,
)

bp = Blueprint("engage_api", __name__)

_INT = {"type": "integer"}
_STR = {"type": "string"}
_WHEN = {"type": "string", "format": "date-time"}


def _out(properties: dict) -> dict:
    """A response object: every property listed is always sent."""
    return {"type": "object", "required": list(properties), "properties": properties}


def _maybe(schema: dict) -> dict:
    return {**schema, "nullable": True}


COUNTER_OUT = _out({
    "id": _INT, "proposed_by": js.choice(["technician", "firm"]), "price_cents": _INT,
    "expenses_cents": _INT, "currency": _STR, "starts_at": _maybe(_WHEN),
    "ends_at": _maybe(_WHEN), "note": _STR, "status": js.choice(CounterStatus)})
OFFER_SCHEMA = _out({
    "id": _INT, "assignment_id": _INT, "technician_id": _INT,
    "status": js.choice(OfferStatus), "source": js.choice(OfferSource), "price_cents": _INT,
    "expenses_cents": _INT, "currency": _STR, "expires_at": _maybe(_WHEN),
    "decline_reason": _maybe(_STR), "pending_counteroffer": _maybe(COUNTER_OUT)})
STAGE_SCHEMA = js.obj({
    "target": js.choice(TargetKind, description="favourites: the firm's favourite "
                                                "technicians (where ratings are enabled)"),
    "after_minutes": js.integer(0, 60 * 24 * 30, description="minutes after routing "
                                                              "(default 0: now)"),
    "technician_ids": js.array(js.ident(), 100, description="target technicians"),
    "pool_ids": js.array(js.ident(), 20, description="target pool: your pools"),
    "top_k": js.integer(1, 100, description="target top_matches: how many")},
    required=["target"])
ROUTE_SCHEMA = js.obj({
    "mode": js.choice(RoutingMode),
    "stages": js.array(STAGE_SCHEMA, 3, minItems=1),
    "offer_ttl_hours": js.integer(1, 24 * 14, description="default 24"),
    "cancellation_cutoff_hours": js.integer(0, 24 * 30, description="default 24"),
    "cancellation_fee_cents": js.cents(description="at most the budget; default 0"),
    "standby_size": js.integer(0, 100, description="backfill list length (default 5)")},
    required=["mode", "stages"], example={
        "mode": "first_to_accept", "stages": [
            {"target": "top_matches", "top_k": 10},
            {"target": "marketplace", "after_minutes": 120}]})
ROUTE_OUT = _out({"assignment_id": _INT, "status": _STR,
                  "offers": {"type": "array", "items": OFFER_SCHEMA}})
REASON_SCHEMA = js.obj({"reason": js.text(300, 1)}, required=["reason"],
                       example={"reason": "The site is closed that day."})
COUNTER_SCHEMA = js.obj({
    "price_cents": js.integer(1, MAX_CENTS),
    "expenses_cents": js.cents(description="default 0"),
    "starts_at": js.nullable(js.line(40, format="date-time",
                                     description="a new start, with its UTC offset")),
    "ends_at": js.nullable(js.line(40, format="date-time")),
    "note": js.nullable(js.text(1000))},
    required=["price_cents"], example={"price_cents": 22000, "expenses_cents": 1500,
                                       "note": "Two hours of driving each way."})
TIMELINE_OUT = {"type": "array", "items": _out({
    "action": _STR, "at": _WHEN, "actor_id": _maybe(_INT),
    "before": _maybe({"type": "object"}), "after": _maybe({"type": "object"})})}


def _iso(value):
    return value.isoformat() if value else None


def counter_json(c: Counteroffer | None) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "proposed_by": c.proposed_by, "price_cents": c.price_cents,
            "expenses_cents": c.expenses_cents, "currency": c.currency,
            "starts_at": _iso(c.starts_at),
            "ends_at": _iso(c.ends_at), "note": c.note, "status": c.status.value}


def offer_json(o: Offer) -> dict:
    return {"id": o.id, "assignment_id": o.assignment_id, "technician_id": o.technician_id,
            "status": o.status.value, "source": o.source.value, "price_cents": o.price_cents,
            "expenses_cents": o.expenses_cents, "currency": o.currency,
            "expires_at": _iso(o.expires_at), "decline_reason": o.decline_reason,
            "pending_counteroffer": counter_json(o.pending_counteroffer)}


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


def _stage(raw: dict) -> routing.StagePlan:
    return routing.StagePlan(TargetKind(raw["target"]), after_minutes=raw.get("after_minutes", 0),
                             technician_ids=raw.get("technician_ids", []),
                             pool_ids=raw.get("pool_ids", []), top_k=raw.get("top_k"))


@bp.post("/assignments/<int:assignment_id>/route")
@firm_required()
@documented("Route an assignment (staged plan)", tags=["engage"], request=ROUTE_SCHEMA,
            response=ROUTE_OUT, errors=(403, 409))
def route(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    body = json_body()
    routing.route_assignment(current_user, assignment, mode=RoutingMode(body["mode"]),
                             stages=[_stage(s) for s in body["stages"]],
                             offer_ttl_hours=body.get("offer_ttl_hours", 24),
                             cancellation_cutoff_hours=body.get("cancellation_cutoff_hours", 24),
                             cancellation_fee_cents=cents(body.get("cancellation_fee_cents", 0),
                                                          "cancellation_fee_cents"),
                             standby_size=body.get("standby_size", 5))
    return jsonify({"assignment_id": assignment.id, "status": assignment.status.value,
                    "offers": [offer_json(o) for o in offers.list_assignment_offers(assignment)]})


@bp.get("/assignments/<int:assignment_id>/offers")
@firm_required()
@documented("Offers, applicants and counteroffers on an assignment", tags=["engage"],
            response={"type": "array", "items": OFFER_SCHEMA}, errors=(403,))
def assignment_offers(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    return jsonify([offer_json(o) for o in offers.list_assignment_offers(assignment)])


@bp.get("/assignments/<int:assignment_id>/timeline")
@firm_required()
@documented("Every transition of an assignment, oldest first", tags=["engage"],
            response=TIMELINE_OUT, errors=(403,))
def timeline(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    return jsonify([{"action": e.action, "at": _iso(e.occurred_at), "actor_id": e.actor_id,
                     "before": e.before, "after": e.after}
                    for e in audit.list_for_subject("assignments", assignment.id)])


@bp.post("/assignments/<int:assignment_id>/cancel")
@firm_required()
@documented("Cancel an assignment (fee after the cutoff)", tags=["engage"], request=REASON_SCHEMA,
            response=_out({"status": _STR, "fee_cents": _INT, "currency": _STR}),
            errors=(403, 409))
def cancel(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    record = backfill.cancel_assignment(current_user, assignment, json_body()["reason"])
    return jsonify({"status": assignment.status.value, "fee_cents": record.fee_cents,
                    "currency": record.currency})


@bp.post("/assignments/<int:assignment_id>/back-out")
@technician_required
@documented("Back out of assigned work (triggers backfill)", tags=["engage"],
            request=REASON_SCHEMA, response=_out({"status": _STR}), errors=(403, 409))
def back_out(assignment_id: int):
    assignment = technician_assignment(current_user, assignment_id)
    backfill.back_out(current_user, assignment, json_body()["reason"])
    return jsonify({"status": assignment.status.value})


@bp.get("/offers")
@technician_required
@documented("Your offers, newest first", tags=["engage"], paginated=True, response=OFFER_SCHEMA,
            errors=(403,))
def my_offers():
    page, per_page = page_args(request.args)
    return jsonify(paginate(offers.technician_offers_stmt(current_user), page, per_page)
                   .to_json(offer_json))


@bp.post("/offers/<int:offer_id>/<any(accept, apply, decline, choose):action>")
@documented("Accept, apply, decline (technician) or choose (firm)", tags=["engage"],
            response=OFFER_SCHEMA, errors=(403, 409, 422), variants={
                "accept": {"summary": "Accept an offer: the first to accept is assigned "
                                      "(technicians)"},
                "apply": {"summary": "Apply for the work; the firm chooses (technicians)"},
                "decline": {"summary": "Decline an offer, saying why (technicians)",
                            "request": REASON_SCHEMA},
                "choose": {"summary": "Choose this applicant (firms)"}})
def act_on_offer(offer_id: int, action: str):
    offer = access_offer(current_user, offer_id)
    if action == "accept":
        offers.accept_offer(current_user, offer)
    elif action == "apply":
        offers.apply_to_offer(current_user, offer)
    elif action == "decline":
        offers.decline_offer(current_user, offer, json_body()["reason"])
    else:
        offers.choose_applicant(current_user, offer)
    return jsonify(offer_json(offer))


@bp.post("/offers/<int:offer_id>/counteroffers")
@documented("Propose a counteroffer (either side)", tags=["engage"], request=COUNTER_SCHEMA,
            response=COUNTER_OUT, status=201, errors=(403, 409))
def propose(offer_id: int):
    offer = access_offer(current_user, offer_id)
    body = json_body()
    counter = offers.propose_counteroffer(
        current_user, offer,
        price_cents=cents(body.get("price_cents"), "price_cents", minimum=1),
        expenses_cents=cents(body.get("expenses_cents", 0), "expenses_cents"),
        starts_at=_when(body, "starts_at"),
        ends_at=_when(body, "ends_at"), note=body.get("note") or "")
    return jsonify(counter_json(counter)), 201


@bp.post("/counteroffers/<int:counteroffer_id>/<any(accept, reject):decision>")
@documented("Accept or reject the other side's counteroffer", tags=["engage"],
            response=_out({"counteroffer": COUNTER_OUT, "offer": OFFER_SCHEMA}),
            errors=(403, 409), variants={
                "accept": {"summary": "Accept the other side's counteroffer: its terms are "
                                      "agreed and the technician is assigned"},
                "reject": {"summary": "Reject the other side's counteroffer"}})
def decide(counteroffer_id: int, decision: str):
    counter = access_counteroffer(current_user, counteroffer_id)
    offers.decide_counteroffer(current_user, counter, decision == "accept")
    return jsonify({"counteroffer": counter_json(counter), "offer": offer_json(counter.offer)})
