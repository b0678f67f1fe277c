"""Rate over JSON: give a rating, read a piece of work's ratings as the caller may see
them, and read a technician's scorecard (their own, or one a firm may look at)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from ..accounts.access import login_required
from ..errors import NotFound
from ..find.directory import access_technician
from ..manage.access import access_work
from ..web import schema as s
from ..web.api import json_body
from ..web.openapi import documented
from . import ratings, scorecards
from .ratings import COMMENT_MAX, FEEDBACK_MAX

bp = Blueprint("rate_api", __name__)

STARS = s.integer(1, 5)
RATING_SCHEMA = s.obj({
    "overall": STARS, "quality": s.nullable(STARS), "communication": s.nullable(STARS),
    "professionalism": s.nullable(STARS), "would_hire_again": s.nullable(s.boolean()),
    "scope_clarity": s.nullable(STARS), "site_readiness": s.nullable(STARS),
    "payment_speed": s.nullable(STARS), "site_not_ready": s.boolean(),
    "comment": s.text(COMMENT_MAX), "private_feedback": s.text(FEEDBACK_MAX)},
    required=("overall",))
RATING_OUT = {"type": "object", "nullable": True, "properties": {
    "id": {"type": "integer"}, "direction": {"type": "string"},
    "overall": {"type": "integer"}, "comment": {"type": "string"},
    "revealed": {"type": "boolean"}}}
PAIR_OUT = {"type": "object", "properties": {
    "side": {"type": "string"}, "mine": RATING_OUT, "theirs": RATING_OUT,
    "theirs_given": {"type": "boolean"}, "can_edit": {"type": "boolean"},
    "closes_at": {"type": "string", "format": "date-time", "nullable": True}}}
CARD_OUT = {"type": "object", "properties": {
    "technician_id": {"type": "integer"},
    "reliability": {"type": "number", "nullable": True},
    "completed": {"type": "integer"},
    "platform_mean": {"type": "number"},
    "components": {"type": "array", "items": {"type": "object"}},
    "all_time": {"type": "object"}, "last_90_days": {"type": "object"}}}


def _rating_json(rating, *, own: bool) -> dict | None:
    if rating is None:
        return None
    out = {"id": rating.id, "direction": rating.direction, "overall": rating.overall,
           "comment": "" if rating.hidden_at else rating.comment,
           "revealed": rating.revealed_at is not None}
    if own:
        out["private_feedback"] = rating.private_feedback
    return out


def _pair_json(pair) -> dict:
    return {"side": pair.side, "mine": _rating_json(pair.mine, own=True),
            "theirs": _rating_json(pair.theirs, own=False), "theirs_given": pair.theirs_given,
            "can_edit": pair.can_edit,
            "closes_at": pair.closes_at.isoformat() if pair.closes_at else None}


@bp.get("/work/<int:work_id>/ratings")
@login_required
@documented("The ratings of a piece of work: yours, and theirs once revealed", tags=["rate"],
            response=PAIR_OUT, errors=(404,))
def get_ratings(work_id: int):
    return jsonify(_pair_json(ratings.pair_for(current_user, access_work(current_user, work_id))))


@bp.post("/work/<int:work_id>/rating")
@login_required
@documented("Rate the other side of approved work (or edit within 48 hours, before reveal)",
            tags=["rate"], request=RATING_SCHEMA, response=PAIR_OUT, errors=(404, 409, 422))
def give_rating(work_id: int):
    a = access_work(current_user, work_id)
    ratings.rate(current_user, a, json_body())
    return jsonify(_pair_json(ratings.pair_for(current_user, a)))


def _figures(f: scorecards.Figures) -> dict:
    return {"completed": f.completed, "on_time_rate": f.on_time_rate,
            "no_shows": f.n("no_show"), "backouts": f.n("backout") + f.n("late_backout"),
            "late_backouts": f.n("late_backout"), "first_time_rate": f.first_time_rate,
            "sla_rate": f.sla_rate, "rating": f.rating, "ratings": f.n("rated")}


@bp.get("/technicians/<int:technician_id>/scorecard")
@login_required
@documented("A technician's scorecard and reliability score with its components",
            tags=["rate"], response=CARD_OUT, errors=(404,))
def scorecard(technician_id: int):
    own = getattr(current_user, "technician", None)
    if own is not None and own.id == technician_id:
        tech = own
    elif own is None:
        tech = access_technician(current_user, technician_id)
    else:
        raise NotFound()
    sc = scorecards.scorecard(tech)
    return jsonify({"technician_id": tech.id, "reliability": sc.reliability,
                    "completed": sc.all_time.completed, "platform_mean": sc.platform_mean,
                    "components": [{"key": c.key, "name": c.name, "share": c.share,
                                    "rate": c.rate, "observed": c.observed, "mean": c.mean}
                                   for c in sc.parts],
                    "all_time": _figures(sc.all_time), "last_90_days": _figures(sc.recent)})
