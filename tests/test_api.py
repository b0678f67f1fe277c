"""The JSON API: token life cycle, error format, pagination, OpenAPI."""
from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.accounts.models import ApiToken
from marketplace.accounts.tokens import hash_token
from marketplace.extensions import db
from tests import factories


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_token_is_shown_once_stored_hashed_used_and_revoked(client, auth, ctx):
    tech = factories.technician()
    auth.login(tech.email, factories.PASSWORD)
    page = client.post("/settings/tokens", data={"name": "dispatch sync"}).get_data(as_text=True)
    raw = re.search(r'id="new-token">(mp_[\w-]+)<', page).group(1)
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == hash_token(raw) and raw not in (stored.prefix, stored.token_hash)
    assert raw not in client.get("/settings/tokens").get_data(as_text=True)

    me = client.get("/api/v1/me", headers=_bearer(raw))
    assert me.status_code == 200 and me.json["email"] == tech.email
    assert me.json["technician"]["city"] == "Dallas"
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None

    client.post(f"/settings/tokens/{stored.id}/revoke")
    denied = client.get("/api/v1/me", headers=_bearer(raw))
    assert denied.status_code == 401
    assert denied.json["error"]["code"] == "unauthenticated"


def test_api_issues_lists_and_revokes_tokens(client, ctx):
    user = factories.firm_user()
    from marketplace.accounts.tokens import issue_api_token
    _, raw = issue_api_token(user, "bootstrap")
    db.session.commit()
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=_bearer(raw))
    assert created.status_code == 201 and created.json["token"].startswith("mp_")
    listed = client.get("/api/v1/tokens", headers=_bearer(raw)).json
    assert {t["name"] for t in listed["data"]} == {"bootstrap", "ci"}
    assert all("token" not in t for t in listed["data"])
    assert listed["meta"] == {"page": 1, "per_page": 25, "total": 2, "pages": 1, "next_page": None}
    revoked = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=_bearer(raw))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    again = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=_bearer(raw))
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert client.get("/api/v1/me", headers=_bearer(created.json["token"])).status_code == 401


def test_api_errors_use_one_json_shape(client, ctx):
    user = factories.firm_user()
    from marketplace.accounts.tokens import issue_api_token
    _, raw = issue_api_token(user, "t")
    db.session.commit()
    bad_body = client.post("/api/v1/tokens", data="nope", headers=_bearer(raw))
    assert bad_body.status_code == 422
    assert set(bad_body.json["error"]) == {"code", "message", "fields"}
    empty_name = client.post("/api/v1/tokens", json={"name": " "}, headers=_bearer(raw))
    assert empty_name.json["error"]["fields"] == {"name": "Name the token after what will use it."}
    bad_page = client.get("/api/v1/skills?per_page=500", headers=_bearer(raw))
    assert bad_page.status_code == 422 and "per_page" in bad_page.json["error"]["fields"]
    missing = client.get("/api/v1/tokens/999999", headers=_bearer(raw))
    assert missing.status_code in (404, 405) and "error" in missing.json


def test_a_browser_session_does_not_authenticate_the_api(client, auth, ctx):
    auth.login(factories.firm_user().email, factories.PASSWORD)
    response = client.post("/api/v1/tokens", json={"name": "sneaky"})
    assert response.status_code == 401
    assert db.session.scalar(select(ApiToken)) is None


def test_skills_pagination(client, ctx):
    for i in range(5):
        factories.SkillFactory(name=f"Skill {i:02d}")
    from marketplace.accounts.tokens import issue_api_token
    _, raw = issue_api_token(factories.technician(), "t")
    db.session.commit()
    page2 = client.get("/api/v1/skills?page=2&per_page=2", headers=_bearer(raw)).json
    assert page2["meta"]["total"] == 5 and page2["meta"]["next_page"] == 3
    assert len(page2["data"]) == 2


def test_openapi_documents_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        # An any(a, b) segment is one path per value.
        choice = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
        paths = [rule.rule.replace(choice.group(0), v.strip()) for v in choice.group(1).split(",")] \
            if choice else [rule.rule]
        for path in paths:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, f"{method} {path} is undocumented"
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
