"""Bad input generated from the API's published schemas, and the world to send it in.

`refused(schema, path)` yields (label, value, field) for values the schema refuses,
with the field the error must name; values are Python objects or `Raw` JSON text
(for what Python cannot write as JSON, like 1e400). Cases come from the schema
itself, one or a few per keyword, so a new field is covered without a new test.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from marketplace.accounts import tokens
from marketplace.core import clock
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.extensions import db
from marketplace.find.models import Assignment, AssignmentStatus
from marketplace.web.schema import SINGLE_LINE
from tests import factories
from tests.tenancy import modules

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class Raw:
    """JSON text sent as it is."""
    text: str


def dumps(body: Any) -> str:
    """`body` as JSON text, with each Raw value written as it is."""
    raws: list[str] = []

    def mark(value):
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"__raw_{len(raws) - 1}__"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body))
    for i, raw in enumerate(raws):
        text = text.replace(f'"__raw_{i}__"', raw)
    return text


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _wrong_types(kind: str | None) -> list[tuple[str, Any]]:
    """Values of every JSON type but `kind` (null apart)."""
    samples = {"string": ("a string", "12"), "integer": ("an integer", 7),
               "number": ("a fraction", 1.5), "boolean": ("a boolean", True),
               "array": ("a list", [1]), "object": ("an object", {"a": 1})}
    skip = {kind} | ({"integer", "number"} if kind == "number" else set())
    return [(label, value) for name, (label, value) in samples.items() if name not in skip]


def refused(schema: dict, path: str) -> Iterator[tuple[str, Any, str]]:
    """Values `schema` refuses at `path`, each with the field its error names."""
    if "anyOf" in schema:
        kinds = {option.get("type") for option in schema["anyOf"]}
        for label, value in _wrong_types(None):
            if not any(isinstance(value, t) for t in _python_types(kinds)):
                yield label, value, path
        yield "null", None, path
        return
    kind = schema.get("type")
    for label, value in _wrong_types(kind):
        if kind == "number" and label == "an integer":
            continue
        yield label, value, path
    if not schema.get("nullable"):
        yield "null", None, path
    if kind in ("integer", "number"):
        yield "1e400", Raw("1e400"), path
        yield "10**30", 10**30, path
        yield "a number as text", "5", path
        if schema.get("minimum") is not None:
            yield "below the minimum", schema["minimum"] - 1, path
        if schema.get("maximum") is not None:
            yield "above the maximum", schema["maximum"] + 1, path
    elif kind == "string":
        yield "1 MB of text", "x" * MEGABYTE, path
        yield "a lone surrogate", "\ud800", path
        yield "a NUL character", "a\x00b", path
        yield "a control character", "a\x07b", path
        if schema.get("pattern") == SINGLE_LINE:
            yield "a line break", "a\nb", path
        if "enum" in schema:
            yield "an unknown choice", "not-a-choice", path
        if schema.get("minLength"):
            yield "empty text", "", path
    elif kind == "array":
        if "maxItems" in schema:
            yield "too many items", [_valid(schema["items"])] * (schema["maxItems"] + 1), path
        for label, value, field in refused(schema["items"], child(path, 0)):
            yield f"item: {label}", [value], field
    elif kind == "object":
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties", True)
        if additional is False:
            yield "an unknown field", {"zz_unknown": 1}, child(path, "zz_unknown")
        elif isinstance(additional, dict):
            for label, value, field in refused(additional, child(path, "1")):
                yield f"entry: {label}", {"1": value}, field
        if "x-key-pattern" in schema:
            yield "an empty key", {"": _valid(additional)}, path
            yield "a key of letters", {"abc": _valid(additional)}, path
        yield "a key with NUL", {"a\x00": _valid(additional)}, path
        if path and schema.get("required"):
            yield "missing fields", {}, child(path, schema["required"][0])
        if path:
            for name, sub in properties.items():
                for label, value, field in refused(sub, child(path, name)):
                    yield f"{name}: {label}", {**minimal(schema), name: value}, field


def _python_types(kinds: set) -> tuple:
    table = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
             "array": list, "object": dict}
    out: list = []
    for kind in kinds:
        out.extend(table[kind] if isinstance(table[kind], tuple) else (table[kind],))
    return tuple(out)


def _valid(schema) -> Any:
    """Some value the schema accepts (enough to reach a sibling's check)."""
    if not isinstance(schema, dict):
        return 1
    if "anyOf" in schema:
        return _valid(schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "string":
        return "a" * max(1, schema.get("minLength", 1))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return minimal(schema)
    return 1


def minimal(schema: dict) -> dict:
    return {name: _valid(schema["properties"][name]) for name in schema.get("required", ())}


# --- the world: firm A's objects, technician A's, and an admin ------------------------

def build_world() -> dict:
    """Every object an /api/v1 path names, owned by firm A's owner or technician A."""
    owner_a = factories.firm_user(name="Owner A")
    tech_a = factories.technician(name="Tech A")
    world = {"marker": "robust", "owner_a": owner_a, "firm_a": owner_a.firm,
             "tech_a": tech_a, "owner_b": factories.firm_user(),
             "tech_b": factories.technician()}
    db.session.commit()
    params: dict = {}
    for module in modules():
        module.build(world)
        params.update(module.PARAMS)
    db.session.commit()
    world["params"] = {name: [fn(world)] for name, fn in params.items()}
    # Work technician A holds, so a back-out reaches its body.
    start = clock.now() + timedelta(days=6)
    job = Assignment(firm_id=owner_a.firm.id, created_by_id=owner_a.id, title="Held job",
                     address="Dallas, TX", lat=tech_a.technician.lat, lon=tech_a.technician.lon,
                     timezone="America/Chicago", starts_at=start,
                     ends_at=start + timedelta(hours=2), budget_cents=30000, rate_cents=30000,
                     status=AssignmentStatus.DRAFT)
    db.session.add(job)
    db.session.flush()
    routing.route_assignment(owner_a, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech_a.technician.id])])
    offer = db.session.query(Offer).filter_by(assignment_id=job.id).one()
    offers.accept_offer(tech_a, offer)
    db.session.commit()
    world["params"]["assignment_id"].append(job.id)
    world["params"]["assignment_id"].append(world["assignment_a"].id)
    admin = factories.admin()
    db.session.commit()
    world["tokens"] = {role: tokens.issue_api_token(user, "robustness")[1]
                       for role, user in (("owner", owner_a), ("technician", tech_a),
                                          ("admin", admin))}
    db.session.commit()
    return world


def operations(doc: dict) -> Iterator[tuple[str, str, dict]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def request_schema(op: dict) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def path_values(path: str, world: dict) -> list[str]:
    """Every way to fill the path's parameters with the world's ids."""
    urls = [path]
    for name in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
        if name not in world["params"]:
            raise LookupError(f"{path}: register <{name}> in a module of tests/tenancy")
        urls = [u.replace("{" + name + "}", str(v)) for u in urls
                for v in world["params"][name]]
    return urls
