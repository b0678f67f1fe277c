"""Every documented operation refuses bad input with the documented error, never a 500.

Walks the app's own OpenAPI document. For each operation it finds a token of a
role that reaches it (firm owner, technician or admin) and ids that are that
user's, then sends input generated from the published schemas: wrong JSON types
for each field, nulls, huge numbers (10**30, 1e400), booleans for numbers, 1 MB
strings, missing required fields, unknown fields, non-object bodies, deep
nesting, lone surrogates, NUL and control characters, bad query parameters and
out-of-range ids. Every answer must be a status the operation documents, in
the error format, naming the field that was refused.
"""
from __future__ import annotations

import time

import pytest

from marketplace.extensions import limiter
from tests.api_cases import (
    MEGABYTE,
    Raw,
    build_world,
    dumps,
    operations,
    path_values,
    refused,
    request_schema,
)

ROLES = ("owner", "technician", "admin")
# Shapes every operation gets one of, in turn (the mechanisms are shared; each
# operation still meets a bad id, a non-object body and an unreadable one).
BAD_IDS = ("0", str(2**31), str(2**63), "9" * 30)
NOT_OBJECTS = ("[1]", '"text"', "5", "null", "true")
UNREADABLE = (("invalid JSON", "{"), ("NaN", '{"a": NaN}'), ("not UTF-8", b'{"a": "\xff"}'))
TOO_DEEP = "[" * 5000 + "]" * 5000


class Walker:
    def __init__(self, client, world):
        self.client, self.world = client, world
        self.problems: list[str] = []
        self.sent = 0

    def send(self, method, url, role, *, body=None, raw=None, query=None,
             content_type="application/json"):
        if self.sent % 250 == 0:
            limiter.reset()  # hundreds of requests a minute are the point here
        self.sent += 1
        headers = {"Authorization": f"Bearer {self.world['tokens'][role]}"}
        kwargs = {"headers": headers, "query_string": query or {}}
        if raw is not None or body is not None:
            kwargs["data"] = raw if raw is not None else dumps(body)
            kwargs["content_type"] = content_type
        return self.client.open(url, method=method.upper(), **kwargs)

    def check(self, what, op, response, *, status=None, field=None):
        """Never a 500, always a documented status and the error JSON, naming `field`."""
        code = response.status_code
        where = f"{op['operationId']}: {what} -> {code}"
        if code >= 500 or str(code) not in op["responses"]:
            self.problems.append(f"{where} (undocumented status) {response.get_data()[:200]!r}")
            return
        if status is not None and code not in (status if isinstance(status, tuple) else (status,)):
            self.problems.append(f"{where}, expected {status}: {response.get_data()[:200]!r}")
            return
        if code < 400:
            return
        error = (response.get_json(silent=True) or {}).get("error")
        if not isinstance(error, dict) or set(error) != {"code", "message", "fields"} or \
                not isinstance(error["message"], str) or not isinstance(error["fields"], dict):
            self.problems.append(f"{where}: not the error format: {response.get_data()[:200]!r}")
            return
        for wanted in ([field] if isinstance(field, str) else field or []):
            if not any(name == wanted or name.startswith((wanted + ".", wanted + "["))
                       for name in error["fields"]):
                self.problems.append(f"{where}: {wanted!r} not named in {error['fields']}")

    def reach(self, path, method, op):
        """(role, url) that get past authentication, role checks and ownership."""
        schema = request_schema(op)
        for role in ROLES:
            for url in path_values(path, self.world):
                if schema is not None:
                    response = self.send(method, url, role, raw="[]")
                elif method == "get":
                    response = self.send(method, url, role)
                else:
                    response = self.send(method, url, role, raw="",
                                         content_type="multipart/form-data; boundary=x")
                if response.status_code not in (401, 403, 404):
                    return role, url
        return None


def _query_cases(param: dict):
    schema, name = param["schema"], param["name"]
    if schema.get("type") == "integer":
        values = ["abc", "1e400", str(2**63), "9" * 5000, str(schema.get("minimum", 1) - 1)]
        if schema.get("maximum") is not None:
            values.append(str(schema["maximum"] + 1))
    else:
        values = ["a\x00b", "a\x07b"]
        if schema.get("maxLength"):
            values.append("x" * (schema["maxLength"] + 1))
        if "enum" in schema:
            values.append("not-a-choice")
    return [(name, value) for value in values]


def _body_cases(schema: dict, turn: int):
    """(label, body, fields to be named, expected status) for a JSON request schema.

    The validator names every refused field at once, so each request carries one
    refused value for every field (the k-th of that field's cases, rotated so that
    no request carries many 1 MB strings)."""
    text = NOT_OBJECTS[turn % len(NOT_OBJECTS)]
    yield f"body {text}", Raw(text), [], 422
    label, text = UNREADABLE[turn % len(UNREADABLE)]
    yield label, Raw(text) if isinstance(text, str) else text, [], 400
    yield "5,000 levels deep", Raw(TOO_DEEP), [], 400
    first = next(iter(schema["properties"]))
    yield "a field 100 levels deep", {first: Raw("[" * 100 + "]" * 100)}, [], 400
    yield "an unknown field", {"zz_unknown": 1}, ["zz_unknown"], 422
    required = list(schema.get("required", ()))
    yield "no fields", {}, required, 422 if required else None
    per_field = []
    for i, (name, sub) in enumerate(schema["properties"].items()):
        cases = list(refused(sub, name))
        per_field.append((name, cases[i % len(cases):] + cases[:i % len(cases)]))
    for k in range(max(len(cases) for _, cases in per_field)):
        body, fields, labels = {}, [], []
        for name, cases in per_field:
            if k < len(cases):
                label, value, field = cases[k]
                body[name] = value
                fields.append(field)
                labels.append(f"{name}: {label}")
        yield "; ".join(labels), body, fields, 422
    nulls = {name: None for name, sub in schema["properties"].items() if sub.get("nullable")}
    if nulls:
        yield "every nullable field null", nulls, [], None


@pytest.fixture
def world(app, ctx):
    return build_world()


def test_every_operation_answers_bad_input_with_its_documented_error(app, client, world):
    started = time.monotonic()
    doc = client.get("/api/v1/openapi.json").get_json()
    walker = Walker(client, world)
    unreached = []
    for turn, (path, method, op) in enumerate(operations(doc)):
        try:
            path_values(path, world)
        except LookupError as exc:
            unreached.append(str(exc))
            continue
        # Ids out of range are unknown ids: a 404 before anything runs.
        for param in (p for p in op["parameters"] if p["in"] == "path"
                      and p["schema"]["type"] == "integer"):
            bad = BAD_IDS[turn % len(BAD_IDS)]
            url = path_values(path.replace("{" + param["name"] + "}", bad), world)[0]
            walker.check(f"{param['name']}={bad[:12]}", op,
                         walker.send(method, url, "owner"), status=404)
        schema = request_schema(op)
        queries = [p for p in op["parameters"] if p["in"] == "query"]
        multipart = "multipart/form-data" in op.get("requestBody", {}).get("content", {})
        if schema is None and not queries and not multipart:
            continue
        reached = walker.reach(path, method, op)
        if reached is None:
            unreached.append(op["operationId"])
            continue
        role, url = reached
        for name, value in (case for p in queries for case in _query_cases(p)):
            walker.check(f"?{name}={value[:12]!r}", op,
                         walker.send(method, url, role, query={name: value}),
                         status=422, field=name)
        if multipart:
            walker.check("no file", op, walker.send(method, url, role, raw="",
                         content_type="multipart/form-data; boundary=x"), status=422)
            walker.check("JSON instead of a file", op,
                         walker.send(method, url, role, body={"file": 1}), status=422)
        if schema is None:
            continue
        walker.check("text/plain", op, walker.send(method, url, role, raw="{}",
                                                   content_type="text/plain"), status=422)
        for label, body, fields, status in _body_cases(schema, turn):
            if isinstance(body, (Raw, bytes)):
                response = walker.send(method, url, role,
                                       raw=body.text if isinstance(body, Raw) else body)
            else:
                response = walker.send(method, url, role, body=body)
            walker.check(label, op, response, status=status, field=fields)
    elapsed = time.monotonic() - started
    assert not walker.problems, f"{len(walker.problems)} problems:\n" + \
        "\n".join(walker.problems[:40])
    assert not unreached, f"no role and ids of the world reach {unreached}: add them"
    assert walker.sent > 500, walker.sent
    assert elapsed < 60, f"{walker.sent} requests took {elapsed:.0f}s"


def test_the_reported_cases_are_field_errors(client, world):
    """The inputs that used to reach the services (and answer 500) are named field errors."""
    tokens = world["tokens"]
    params = world["params"]

    def post(url, role, body, method="POST"):
        limiter.reset()
        return client.open(url, method=method, data=body if isinstance(body, str) else dumps(body),
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {tokens[role]}"})

    base = {"title": "Rack", "address": "Dallas, TX 75201", "start_date": "2030-06-03",
            "start_time": "09:00", "end_time": "11:00", "rate_cents": 18000}
    cases = [
        ("/api/v1/assignments", "owner", {**base, "skills": [1, 2]}, "skills"),
        ("/api/v1/assignments", "owner", {**base, "skills": {"1": "two"}}, "skills.1"),
        ("/api/v1/assignments", "owner", {**base, "skills": {"": 1}}, "skills"),
        ("/api/v1/assignments", "owner", {**base, "requirement_set_id": "3"},
         "requirement_set_id"),
        ("/api/v1/assignments", "owner", {**base, "requirement_set_id": 2**63},
         "requirement_set_id"),
        ("/api/v1/assignments", "owner", {**base, "title": ["Rack"]}, "title"),
        ("/api/v1/assignments", "owner", {**base, "address": 75201}, "address"),
        ("/api/v1/assignments", "owner", {**base, "rate_cents": True}, "rate_cents"),
        ("/api/v1/assignments", "owner", {**base, "title": "a\x00b"}, "title"),
        ("/api/v1/assignments", "owner", {**base, "description": "\ud800"}, "description"),
        ("/api/v1/assignments", "owner", dumps({**base, "template_id": Raw("1e400")}),
         "template_id"),
        (f"/api/v1/assignments/{params['assignment_id'][0]}/route", "owner",
         {"mode": "first_to_accept", "stages": [{"target": "technicians",
                                                  "technician_ids": 5}]},
         "stages[0].technician_ids"),
        (f"/api/v1/offers/{params['offer_id'][0]}/decline", "technician", "[1]", None),
        (f"/api/v1/credentials/{params['credential_id'][0]}/decision", "admin",
         {"decision": "reject", "reason": 5}, "reason"),
        ("/api/v1/tokens", "owner", {"name": None}, "name"),
    ]
    for url, role, body, field in cases:
        response = post(url, role, body)
        assert response.status_code == 422, (url, body, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert field is None or field in fields, (url, body, fields)
    assert post("/api/v1/tokens", "owner", {"name": "x" * MEGABYTE}).status_code == 422
