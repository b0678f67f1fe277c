"""The OpenAPI 3 document, built from the API routes that exist.

Each API view carries its description through `@documented(...)`; the document
walks the URL map, so a route cannot be served yet missing from the document
(a test checks every /api/v1 route is documented, and that the document is
valid OpenAPI). The request schemas published here are the ones `json_body()`
and `query_args()` enforce (web/schema.py), and the statuses listed for an
operation are every status it can answer.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.routing.converters import AnyConverter, NumberConverter

from .pagination import MAX_PAGE, MAX_PER_PAGE
from .schema import MAX_DEPTH, MAX_ID

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "fields"],
        "properties": {
            "code": {"type": "string", "example": "validation_failed",
                     "description": "stable and machine-readable: bad_request, "
                                    "unauthenticated, permission_denied, not_found, "
                                    "invalid_state (or a more precise code for a 409, such "
                                    "as already_taken), too_large, validation_failed, "
                                    "rate_limited"},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "The field (e.g. `title`, `stages[0].target`, "
                                      "`skills.12`) -> why it was refused"},
        },
    }},
}
ERRORS: dict[int, tuple[str, str, str, dict]] = {
    400: (f"The body could not be read: not JSON, or nested more than {MAX_DEPTH} levels deep",
          "bad_request",
          "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)", {}),
    401: ("No valid API token was sent", "unauthenticated",
          "Send a valid personal API token as `Authorization: Bearer <token>`.", {}),
    403: ("Your account's role may not do this", "permission_denied",
          "This page is for firm members.", {}),
    404: ("No such object, or not yours to see (ids out of range are unknown ids)",
          "not_found", "That does not exist, or is not yours to see.", {}),
    409: ("Not possible in the object's current state", "invalid_state",
          "That is not possible in the object's current state.", {}),
    413: ("The body is larger than the server accepts", "too_large",
          "The request is too large: the limit is 12 MB.", {}),
    422: ("Some input is not valid: `fields` names each field with the reason",
          "validation_failed", "Check title.", {"title": "At most 160 characters."}),
    429: ("Too many requests: wait a minute and try again", "rate_limited",
          "Too many attempts. Wait a minute and try again.", {}),
}
PAGE_META = {
    "type": "object",
    "required": ["page", "per_page", "total", "pages", "next_page"],
    "properties": {k: {"type": "integer", "nullable": k == "next_page"}
                   for k in ("page", "per_page", "total", "pages", "next_page")},
}
PAGE_PARAMS = [
    {"name": "page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 25}},
]
FILE_TYPES = ("application/pdf", "image/jpeg", "image/png")
_PARAM = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def documented(summary: str, *, tags: list[str] | None = None, request: dict | None = None,
               request_content: str = "application/json", response: dict | None = None,
               files: tuple[str, ...] | None = None, paginated: bool = False, status: int = 200,
               params: list[dict] | None = None, errors: tuple[int, ...] = (),
               variants: dict[str, dict] | None = None, description: str | None = None):
    """Attach the OpenAPI description of an API view to the view itself.

    `request` is the body's schema (checked by `json_body()`), `params` the query
    parameters (checked by `query_args()`), `files` the media types of a download
    (its response is the file itself), `errors` the statuses the view's own rules
    answer (403, 404, 409, 422...; those of authentication, rate limits, ids in the
    path and bodies are added). `variants` describe each value of an `any(...)` path
    segment apart: {"decline": {"summary": ..., "request": ...}}.
    """
    def decorator(view):
        view.openapi = {"summary": summary, "tags": tags or [], "request": request,
                        "request_content": request_content, "response": response,
                        "files": files, "paginated": paginated, "status": status,
                        "params": params or [], "errors": tuple(errors),
                        "variants": variants or {}, "description": description}
        return view
    return decorator


def operation(view, view_args: dict) -> dict | None:
    """A view's documentation for the values of its path (a variant's on top)."""
    meta = getattr(view, "openapi", None)
    if meta is None:
        return None
    for value in view_args.values():
        if isinstance(value, str) and value in meta["variants"]:
            return {**meta, **meta["variants"][value]}
    return meta


def _param_schema(converter) -> dict:
    if isinstance(converter, NumberConverter):
        schema: dict[str, Any] = {"type": "integer"}
        if converter.min is not None:
            schema["minimum"] = converter.min
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    return {"type": "string"}


def _paths(rule) -> list[tuple[str, list[dict], dict]]:
    """(OpenAPI path, its parameters, the fixed view args) for each path of a rule:
    an `any(a, b)` segment becomes one path per value."""
    converters = getattr(rule, "_converters", {})
    params: list[dict] = []
    fixed: list[tuple[str, list[str]]] = []

    def repl(match: re.Match) -> str:
        name = match.group(3)
        converter = converters.get(name)
        if isinstance(converter, AnyConverter):
            values = [v.strip().strip("'\"") for v in match.group(2).split(",")]
            fixed.append((name, values))
            return "{" + name + "}"
        params.append({"name": name, "in": "path", "required": True,
                       "schema": _param_schema(converter)})
        return "{" + name + "}"

    template = _PARAM.sub(repl, rule.rule)
    if not fixed:
        return [(template, params, {})]
    if len(fixed) > 1:
        raise ValueError(f"{rule.rule}: one any(...) segment per API route")
    name, values = fixed[0]
    return [(template.replace("{" + name + "}", value), params, {name: value})
            for value in values]


def _error_codes(meta: dict, path_params: list[dict]) -> list[int]:
    codes = {401, 429, *meta["errors"]}
    if path_params:
        codes.add(404)
    if meta["request"] is not None:
        codes |= {413, 422}
        if meta["request_content"] == "application/json":
            codes.add(400)
    if meta["params"] or meta["paginated"]:
        codes.add(422)
    return sorted(codes)


def _response(meta: dict) -> dict:
    if meta["files"]:
        return {"description": "The file itself", "content": {
            mime: {"schema": {"type": "string", "format": "binary"}} for mime in meta["files"]}}
    body = meta["response"] or {"type": "object"}
    if meta["paginated"]:
        body = {"type": "object", "required": ["data", "meta"], "properties": {
            "data": {"type": "array", "items": body}, "meta": PAGE_META}}
    return {"description": "OK", "content": {"application/json": {"schema": body}}}


def _operation(endpoint: str, method: str, meta: dict, path_params: list[dict],
               variant: dict) -> dict:
    suffix = "".join("_" + v for v in variant.values())
    op: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_") + "_" + method.lower() + suffix,
        "summary": meta["summary"],
        "tags": meta["tags"],
        "parameters": path_params + meta["params"] + (PAGE_PARAMS if meta["paginated"] else []),
        "responses": {str(meta["status"]): _response(meta)},
    }
    if meta["description"]:
        op["description"] = meta["description"]
    if meta["request"] is not None and method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": True, "content": {
            meta["request_content"]: {"schema": meta["request"]}}}
    for code in _error_codes(meta, path_params):
        text, name, message, fields = ERRORS[code]
        op["responses"][str(code)] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"error": {"code": name, "message": message, "fields": fields}}}}}
    return op


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "openapi", None) is None:
            continue
        for path, path_params, variant in _paths(rule):
            meta = operation(view, variant)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                paths.setdefault(path, {})[method.lower()] = _operation(
                    rule.endpoint, method, meta, path_params, variant)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Onsite Marketplace API", "version": "1.0.0",
                 "description": (
                     "Personal API tokens: send `Authorization: Bearer <token>`. "
                     "Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`; a 422 "
                     "names each refused field in `fields`. Lists take `page` and `per_page` "
                     "and return `data` and `meta`. Ids are whole numbers from 1 to "
                     f"{MAX_ID}; amounts are whole numbers of cents. Bodies are JSON objects "
                     f"nested at most {MAX_DEPTH} levels deep; unknown fields are refused. "
                     "Text never contains NUL, control characters or unpaired surrogates "
                     "(tab, line feed and carriage return only in long text).")},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
