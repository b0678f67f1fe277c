"""Accounts over JSON: who am I, the skills catalog, the team, API tokens."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ..web import schema as js
from ..web.api import json_body
from ..web.openapi import documented
from ..web.pagination import page_args, paginate
from . import tokens
from .access import access_api_token, firm_required
from .models import AccountKind, ApiToken, Membership, Role, Skill, User

bp = Blueprint("accounts_api", __name__)

_WHEN = {"type": "string", "format": "date-time"}
TOKEN_PROPERTIES = {
    "id": {"type": "integer"}, "name": {"type": "string"}, "prefix": {"type": "string"},
    "created_at": _WHEN, "last_used_at": {**_WHEN, "nullable": True},
    "revoked_at": {**_WHEN, "nullable": True}}
TOKEN_SCHEMA = {"type": "object", "required": list(TOKEN_PROPERTIES),
                "properties": TOKEN_PROPERTIES}
NEW_TOKEN_SCHEMA = {"type": "object", "required": [*TOKEN_PROPERTIES, "token"],
                    "properties": {**TOKEN_PROPERTIES, "token": {
                        "type": "string", "description": "the secret, shown this once"}}}
TOKEN_IN = js.obj({"name": js.line(80, 1, description="what will use the token")},
                  required=["name"], example={"name": "dispatch sync"})
SKILL_SCHEMA = {"type": "object", "required": ["id", "slug", "name", "category"],
                "properties": {"id": {"type": "integer"}, "slug": {"type": "string"},
                               "name": {"type": "string"}, "category": {"type": "string"}}}
MEMBER_SCHEMA = {"type": "object", "required": ["id", "name", "email", "role",
                                                "budget_limit_cents"], "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "role": {"type": "string", "enum": [r.value for r in Role]},
    "budget_limit_cents": {"type": "integer", "nullable": True}}}
ME_SCHEMA = {"type": "object", "required": ["id", "email", "name", "kind"], "properties": {
    "id": {"type": "integer"}, "email": {"type": "string", "format": "email"},
    "name": {"type": "string"}, "kind": {"type": "string", "enum": [k.value for k in AccountKind]},
    "firm": {"type": "object", "description": "for firm members",
             "required": ["id", "name", "role", "verification_status"], "properties": {
                 "id": {"type": "integer"}, "name": {"type": "string"},
                 "role": {"type": "string", "enum": [r.value for r in Role]},
                 "verification_status": {"type": "string"}}},
    "technician": {"type": "object", "description": "for technicians", "required": [
        "id", "status", "headline", "postal_code", "city", "state", "travel_radius_km",
        "hourly_rate_cents", "currency", "skills"], "properties": {
        "id": {"type": "integer"}, "status": {"type": "string"}, "headline": {"type": "string"},
        "postal_code": {"type": "string", "nullable": True},
        "city": {"type": "string", "nullable": True},
        "state": {"type": "string", "nullable": True},
        "travel_radius_km": {"type": "integer"}, "hourly_rate_cents": {"type": "integer"},
        "currency": {"type": "string"},
        "skills": {"type": "array", "items": {"type": "object",
                                              "required": ["skill_id", "slug", "level"],
                                              "properties": {
                                                  "skill_id": {"type": "integer"},
                                                  "slug": {"type": "string"},
                                                  "level": {"type": "integer"}}}}}}}}


def _iso(value):
    return value.isoformat() if value else None


def token_json(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name, "prefix": token.prefix,
            "created_at": _iso(token.created_at), "last_used_at": _iso(token.last_used_at),
            "revoked_at": _iso(token.revoked_at)}


def me_json(user: User) -> dict:
    data = {"id": user.id, "email": user.email, "name": user.name, "kind": user.kind.value}
    if user.membership:
        data["firm"] = {"id": user.firm.id, "name": user.firm.name,
                        "role": user.membership.role.value,
                        "verification_status": user.firm.verification_status.value}
    if user.technician:
        tech = user.technician
        data["technician"] = {
            "id": tech.id, "status": tech.status.value, "headline": tech.headline,
            "postal_code": tech.postal_code, "city": tech.city, "state": tech.state,
            "travel_radius_km": tech.travel_radius_km,
            "hourly_rate_cents": tech.hourly_rate_cents, "currency": tech.currency,
            "skills": [{"skill_id": s.skill_id, "slug": s.skill.slug, "level": s.level}
                       for s in tech.skills]}
    return data


@bp.get("/me")
@documented("The account behind the token", tags=["accounts"], response=ME_SCHEMA)
def me():
    return jsonify(me_json(current_user))


@bp.get("/skills")
@documented("The skills catalog", tags=["accounts"], paginated=True, response=SKILL_SCHEMA)
def skills():
    page, per_page = page_args(request.args, default_per_page=100)
    result = paginate(select(Skill).order_by(Skill.category, Skill.name), page, per_page)
    return jsonify(result.to_json(lambda s: {"id": s.id, "slug": s.slug, "name": s.name,
                                             "category": s.category}))


@bp.get("/team")
@firm_required()
@documented("Members of your firm", tags=["accounts"], paginated=True, errors=(403,),
            response=MEMBER_SCHEMA)
def team():
    page, per_page = page_args(request.args)
    stmt = (select(Membership).where(Membership.firm_id == current_user.membership.firm_id)
            .join(Membership.user).order_by(User.name))
    result = paginate(stmt, page, per_page)
    return jsonify(result.to_json(lambda m: {
        "id": m.id, "name": m.user.name, "email": m.user.email, "role": m.role.value,
        "budget_limit_cents": m.budget_limit_cents}))


@bp.get("/tokens")
@documented("Your personal API tokens (never the secret)", tags=["accounts"],
            paginated=True, response=TOKEN_SCHEMA)
def list_tokens():
    page, per_page = page_args(request.args)
    stmt = select(ApiToken).where(ApiToken.user_id == current_user.id) \
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return jsonify(paginate(stmt, page, per_page).to_json(token_json))


@bp.post("/tokens")
@documented("Issue a token; the secret is in the response once", tags=["accounts"], status=201,
            request=TOKEN_IN, response=NEW_TOKEN_SCHEMA)
def create_token():
    body = json_body()
    token, raw = tokens.issue_api_token(current_user, body["name"])
    return jsonify({**token_json(token), "token": raw}), 201


@bp.delete("/tokens/<int:token_id>")
@documented("Revoke a token", tags=["accounts"], errors=(409,), response=TOKEN_SCHEMA)
def revoke_token(token_id: int):
    token = access_api_token(current_user, token_id)
    tokens.revoke_api_token(current_user, token)
    return jsonify(token_json(token))
