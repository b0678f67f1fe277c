"""The OpenAPI document is valid, says what the server enforces, and what it answers."""
from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from marketplace.extensions import limiter
from marketplace.web.openapi import operation
from marketplace.web.schema import MAX_ID, validate
from tests.api_cases import (
    Raw,
    build_world,
    minimal,
    operations,
    path_values,
    refused,
    request_schema,
)


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def world(app, ctx):
    return build_world()


def _bearer(world, role):
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


def test_the_document_is_valid_openapi(doc):
    validate_spec(doc)


def test_paths_are_openapi_paths_with_bounded_ids(doc):
    for path, ops in doc["paths"].items():
        assert "<" not in path and "(" not in path, path
        names = {p[1:-1] for p in path.split("/") if p.startswith("{")}
        for op in ops.values():
            declared = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "path"}
            assert set(declared) == names, (path, declared)
            for schema in declared.values():
                assert schema == {"type": "integer", "minimum": 1, "maximum": MAX_ID}, path
    # An any(...) segment is one path per value, each with its own description.
    decline = doc["paths"]["/api/v1/offers/{offer_id}/decline"]["post"]
    accept = doc["paths"]["/api/v1/offers/{offer_id}/accept"]["post"]
    reason = decline["requestBody"]["content"]["application/json"]["schema"]
    assert reason["required"] == ["reason"] and "requestBody" not in accept
    assert decline["operationId"] != accept["operationId"]
    assert "/api/v1/counteroffers/{counteroffer_id}/reject" in doc["paths"]


def test_every_operation_lists_the_statuses_it_can_answer(doc):
    for path, method, op in operations(doc):
        codes = set(op["responses"])
        assert {"401", "429"} <= codes, op["operationId"]
        if "{" in path:
            assert "404" in codes, op["operationId"]
        if request_schema(op) is not None:
            assert {"400", "413", "422"} <= codes, op["operationId"]
        if any(p["in"] == "query" for p in op["parameters"]):
            assert "422" in codes, op["operationId"]
        for code, response in op["responses"].items():
            if code.startswith("4"):
                example = response["content"]["application/json"]["example"]
                assert set(example["error"]) == {"code", "message", "fields"}


def test_downloads_are_documented_as_files_and_the_timeline_as_a_list(doc):
    document = doc["paths"]["/api/v1/technicians/{technician_id}/credentials/"
                            "{credential_id}/document"]["get"]["responses"]["200"]["content"]
    assert set(document) == {"application/pdf", "image/jpeg", "image/png"}
    timeline = doc["paths"]["/api/v1/assignments/{assignment_id}/timeline"]["get"]
    assert timeline["responses"]["200"]["content"]["application/json"]["schema"]["type"] == \
        "array"
    create = request_schema(doc["paths"]["/api/v1/assignments"]["post"])
    assert {"rate_cents", "hourly_rate_cents", "currency"} <= set(create["properties"])
    assert create["properties"]["rate_cents"] == {
        "type": "integer", "minimum": 0, "maximum": 10_000_000, "nullable": True,
        "description": "the fixed price in cents"}
    assert "version" in request_schema(doc["paths"]["/api/v1/assignments/{assignment_id}"]["put"])[
        "properties"]


def test_the_published_request_schemas_are_the_ones_enforced(app, doc):
    """The schema in the document is the very one `json_body()` checks."""
    urls = app.url_map.bind("localhost")
    checked = 0
    for path, method, op in operations(doc):
        schema = request_schema(op)
        if schema is None:
            continue
        endpoint, args = urls.match(_fill(path), method.upper())
        assert operation(app.view_functions[endpoint], args)["request"] == schema, path
        checked += 1
    assert checked >= 15


def _fill(path: str) -> str:
    parts = ["1" if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def _plain(value) -> bool:
    """No Raw JSON, no text the universal string rule refuses (a stricter rule than JSON
    Schema's), so a reference validator can judge it too."""
    if isinstance(value, Raw):
        return False
    if isinstance(value, str):
        return value.isprintable() and len(value) < 1000
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and k and _plain(v) for k, v in value.items())
    return True


def test_the_validator_agrees_with_a_reference_implementation(doc):
    """For generated bodies, web/schema.py and openapi-schema-validator give one verdict;
    and every documented example is valid."""
    compared = 0
    for _, _, op in operations(doc):
        schema = request_schema(op)
        if schema is None:
            continue
        reference = OAS30Validator(schema)
        example = schema.get("example")
        if example is not None:
            assert validate(schema, example) == {}, (op["operationId"], validate(schema, example))
            assert reference.is_valid(example), op["operationId"]
        bodies = [minimal(schema), {"zz_unknown": 1}]
        for name, sub in schema["properties"].items():
            bodies += [{**minimal(schema), name: value} for _, value, _ in refused(sub, name)]
            if sub.get("nullable"):
                bodies.append({**minimal(schema), name: None})
        for body in filter(_plain, bodies):
            if "x-key-pattern" in str(schema) and any(isinstance(v, dict) for v in body.values()):
                continue  # an OpenAPI extension the reference does not read
            mine = not validate(schema, body)
            assert mine == reference.is_valid(body), (op["operationId"], body,
                                                     validate(schema, body))
            compared += 1
    assert compared > 300


def _undocumented(schema: dict, value, path="") -> list[str]:
    """Properties a response carries that its schema does not list."""
    if isinstance(value, dict) and schema.get("type") == "object" and "properties" in schema:
        out = [f"{path}.{k}" for k in value if k not in schema["properties"]]
        for key, sub in schema["properties"].items():
            if key in value and value[key] is not None:
                out += _undocumented(sub, value[key], f"{path}.{key}")
        return out
    if isinstance(value, list) and schema.get("type") == "array":
        return [p for item in value[:3] for p in _undocumented(schema["items"], item, path + "[]")]
    return []


def test_responses_match_their_documented_schemas(client, doc, world):
    """Every GET as a role that reaches it, and every documented example body: the answer
    is a documented status, and a success has the documented shape, no more, no less."""
    seen, created = 0, set()
    for path, method, op in operations(doc):
        example = (request_schema(op) or {}).get("example")
        if method != "get" and example is None:
            continue
        for role in ("owner", "technician", "admin"):
            limiter.reset()
            url = path_values(path, world)[0]
            kwargs = {"json": example} if method != "get" else {}
            response = client.open(url, method=method.upper(), headers=_bearer(world, role),
                                   **kwargs)
            code = str(response.status_code)
            assert code in op["responses"], (op["operationId"], role, code,
                                             response.get_data()[:300])
            if response.status_code >= 300:
                continue
            content = op["responses"][code]["content"]
            assert response.mimetype in content, (op["operationId"], response.mimetype)
            if response.mimetype == "application/json":
                schema = content["application/json"]["schema"]
                body = response.get_json()
                assert OAS30Validator(schema).is_valid(body), (
                    op["operationId"], next(OAS30Validator(schema).iter_errors(body)).message)
                assert not _undocumented(schema, body), (op["operationId"],
                                                         _undocumented(schema, body))
            seen += 1
            if method != "get":
                created.add(op["operationId"])
            break
    assert seen > 30
    assert {"accounts_api_create_token_post", "find_api_create_assignment_post",
            "find_api_create_pool_post"} <= created, created


def test_ids_out_of_range_are_unknown_ids(client, world):
    headers = _bearer(world, "owner")
    for bad in ("0", str(2**31), str(2**63), "9" * 5000, "1e3", "-1", "007"):
        for method in ("GET", "PUT"):
            response = client.open(f"/api/v1/assignments/{bad}", method=method, headers=headers)
            assert response.status_code == 404, (bad, method, response.status_code)
            assert response.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/assignments/{2**31 - 1}", headers=headers).status_code == 404
    assert client.get(f"/assignments/{2**31}").status_code == 404  # the HTML side too


def test_page_numbers_are_bounded(client, world):
    headers = _bearer(world, "owner")
    for query in ("page=9223372036854775807", "page=10001", "page=0", "per_page=101",
                  "page=" + "9" * 5000, "page=1.5"):
        response = client.get(f"/api/v1/notifications?{query}", headers=headers)
        assert response.status_code == 422, query
        assert set(response.get_json()["error"]["fields"]) <= {"page", "per_page"}
        assert response.get_json()["error"]["fields"], query
    last = client.get("/api/v1/notifications?page=10000", headers=headers)
    assert last.status_code == 200 and last.get_json()["data"] == []


def test_a_405_says_which_methods_are_allowed(client, world):
    response = client.delete("/api/v1/me", headers=_bearer(world, "owner"))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_deep_nesting_is_a_400_and_never_recursion(client, world):
    for depth in (65, 5000, 100_000):
        body = '{"name": ' + "[" * depth + "]" * depth + "}"
        response = client.post("/api/v1/tokens", data=body, content_type="application/json",
                               headers=_bearer(world, "owner"))
        assert response.status_code == 400, depth
        assert "64" in response.get_json()["error"]["message"]
    ok = '{"name": "n", "zz": ' + "[" * 62 + "]" * 62 + "}"
    response = client.post("/api/v1/tokens", data=ok, content_type="application/json",
                           headers=_bearer(world, "owner"))
    assert response.status_code == 422 and "zz" in response.get_json()["error"]["fields"]
