"""The /api/v1 surface: token auth, JSON errors, the OpenAPI document.

Every stage has its own JSON blueprint and registers it with `register_api`,
which mounts it under /api/v1. Browser sessions do not authenticate the API
(it is CSRF-exempt); only personal API tokens do.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, jsonify, request

from ..core.hooks import hooks
from ..errors import Unauthenticated, ValidationFailed
from ..extensions import csrf, limiter
from .openapi import build_document

PREFIX = "/api/v1"
api = Blueprint("api", __name__)
PUBLIC_PATHS = {PREFIX + "/openapi.json"}
AUTH_HOOK = "api_authenticators"


def register_authenticator(app: Flask, authenticate) -> None:
    """`authenticate(raw_token) -> user | None`; accounts registers personal tokens."""
    hooks(app).add(AUTH_HOOK, authenticate)


@api.get("/openapi.json")
def openapi():
    return jsonify(build_document(current_app))


def _authenticate():
    if not request.path.startswith(PREFIX + "/") or request.path in PUBLIC_PATHS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    user = None
    if scheme.lower() == "bearer":
        for authenticate in hooks().get(AUTH_HOOK):
            user = authenticate(raw.strip())
            if user is not None:
                break
    if user is None:
        raise Unauthenticated("Send a valid personal API token as `Authorization: Bearer <token>`.")
    # The token's user is the current user for this request only: no cookie.
    g._login_user = user
    return None


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object with Content-Type: application/json.")
    return data


def register_api(app: Flask, blueprint: Blueprint) -> None:
    """Mount a stage's JSON blueprint under /api/v1 with the API's rules."""
    csrf.exempt(blueprint)
    limiter.limit("300 per minute")(blueprint)
    app.register_blueprint(blueprint, url_prefix=PREFIX)


def init_app(app: Flask) -> None:
    app.before_request(_authenticate)
    register_api(app, api)
