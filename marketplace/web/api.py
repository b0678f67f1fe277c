"""The /api/v1 surface: token auth, JSON errors, the OpenAPI document.

Every stage has its own JSON blueprint and registers it with `register_api`,
which mounts it under /api/v1. Browser sessions do not authenticate the API
(it is CSRF-exempt); only personal API tokens do.

A view reads its body with `json_body()` and its query with `query_args()`:
both check the input against the schema the view documents with
`@documented(...)`, the one the OpenAPI document publishes.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, ValidationError

from ..core.hooks import hooks
from ..errors import MalformedRequest, Unauthenticated, ValidationFailed
from ..extensions import csrf, limiter
from .openapi import build_document, operation
from .schema import MAX_DEPTH, MAX_ID, check, obj

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


def up_to(maximum: int) -> str:
    """A regular expression for the whole numbers 1..maximum, written without leading zeros."""
    digits = str(maximum)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id from 1 to 2^31-1. Anything else (0, 2^31,
    a thousand digits) matches no route, whatever the method, so it is a 404 like an
    unknown id (the bound is in the pattern: werkzeug answers 405 before it converts)."""

    regex = up_to(MAX_ID)

    def __init__(self, map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


class TooDeep(ValueError):
    pass


def nesting_depth(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, (dict, list)))
    return deepest


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing input nested deeper than MAX_DEPTH and the non-JSON
    constants (NaN, Infinity) Python would otherwise accept."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise TooDeep(f"JSON nested more than {MAX_DEPTH} levels deep.") from None
        if nesting_depth(value) > MAX_DEPTH:
            raise TooDeep(f"JSON nested more than {MAX_DEPTH} levels deep.")
        return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON.")


def _operation() -> dict:
    meta = operation(current_app.view_functions.get(request.endpoint), request.view_args or {})
    if meta is None:
        raise RuntimeError(f"{request.endpoint} reads input but documents none")
    return meta


def json_body() -> dict:
    """The request's JSON object, checked against the schema the view documents."""
    schema = _operation()["request"]
    if schema is None:
        raise RuntimeError(f"{request.endpoint} reads a JSON body but documents none")
    if not request.is_json:
        raise ValidationFailed("Send a JSON object with Content-Type: application/json.")
    try:
        data = current_app.json.loads(request.get_data(cache=True))
    except TooDeep as exc:
        raise MalformedRequest(str(exc)) from None
    except ValueError as exc:
        raise MalformedRequest(f"The body is not valid JSON: {exc}") from None
    return check(schema, data)


_WHOLE = re.compile(r"-?[0-9]{1,19}")


def query_args() -> dict:
    """The documented query parameters that were sent, checked and converted."""
    params = {p["name"]: p["schema"] for p in _operation()["params"] if p["in"] == "query"}
    values = {}
    for name, schema in params.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        if schema.get("type") == "integer" and _WHOLE.fullmatch(raw.strip()):
            raw = int(raw)
        values[name] = raw
    return check(obj(params, additional=True), values)


def register_api(app: Flask, blueprint: Blueprint) -> None:
    """Mount a stage's JSON blueprint under /api/v1 with the API's rules."""
    csrf.exempt(blueprint)
    limiter.limit("300 per minute")(blueprint)
    app.register_blueprint(blueprint, url_prefix=PREFIX)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: every `<int:...>` of the app is an id.
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    app.before_request(_authenticate)
    register_api(app, api)
