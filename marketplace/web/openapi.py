"""The OpenAPI 3 document, built from the API routes that exist.

Each API view carries its description through `@documented(...)`; the document
walks the URL map, so a route cannot be served yet missing from the document
(a test checks every /api/v1 route is documented).
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "fields"],
        "properties": {
            "code": {"type": "string", "example": "validation_failed"},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }},
}
PAGE_META = {
    "type": "object",
    "properties": {k: {"type": "integer", "nullable": k == "next_page"}
                   for k in ("page", "per_page", "total", "pages", "next_page")},
}
PAGE_PARAMS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
]


def documented(summary: str, *, tags: list[str] | None = None, request: dict | None = None,
               response: dict | None = None, paginated: bool = False, status: int = 200,
               params: list[dict] | None = None, errors: tuple[int, ...] = (401, 404, 422)):
    """Attach the OpenAPI description of an API view to the view itself."""
    def decorator(view):
        view.openapi = {"summary": summary, "tags": tags or [], "request": request,
                        "response": response, "paginated": paginated, "status": status,
                        "params": params or [], "errors": errors}
        return view
    return decorator


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        kind = "integer" if converter == "int" else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path, path_params = _path(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "summary": meta["summary"],
                "tags": meta["tags"],
                "parameters": path_params + meta["params"] + (PAGE_PARAMS if meta["paginated"] else []),
                "responses": {},
            }
            if meta["request"] and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": meta["request"]}}}
            body = meta["response"] or {"type": "object"}
            if meta["paginated"]:
                body = {"type": "object", "properties": {
                    "data": {"type": "array", "items": body}, "meta": PAGE_META}}
            op["responses"][str(meta["status"])] = {
                "description": "OK", "content": {"application/json": {"schema": body}}}
            for code in meta["errors"]:
                op["responses"][str(code)] = {"description": "Error", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Onsite Marketplace API", "version": "1.0.0",
                 "description": "Personal API tokens: send `Authorization: Bearer <token>`. "
                                "Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`. "
                                "Lists take `page` and `per_page` and return `data` and `meta`."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
