"""A firm never sees another firm's data; a technician never sees another's.

Walks every registered route (HTML and API) as firm B's owner and as
technician B, with ids of objects that belong to firm A or technician A, and
checks (1) no response reveals firm A's marker text, (2) id routes answer 404
(or 403 for a route of another role), never 200, and (3) no write changed
any row of firm A's data.
"""
from __future__ import annotations

import re
import uuid

import pytest

from marketplace.accounts import tokens
from marketplace.extensions import db
from marketplace.verify import standing
from tests import factories
from tests.tenancy import modules

SKIP_ENDPOINTS = {"static", "accounts.logout"}


def _params() -> tuple[dict, dict]:
    params, secrets = {}, {}
    for module in modules():
        params.update(module.PARAMS)
        secrets.update(getattr(module, "SECRET_PARAMS", {}))
    return params, secrets


def _snapshot() -> dict:
    data = {}
    for table in db.metadata.sorted_tables:
        if table.name in ("audit_log", "api_tokens", "notifications", "outbox",
                          "notification_preferences"):
            continue  # append-only logs, delivery bookkeeping and last_used_at may move
        rows = db.session.execute(table.select()).all()
        data[table.name] = sorted(repr(tuple(r)) for r in rows)
    return data


@pytest.fixture
def world(app, ctx):
    marker = "ZZSECRET" + uuid.uuid4().hex[:8]
    owner_a = factories.firm_user(name="Owner A " + marker)
    firm_a = owner_a.firm
    firm_a.name = "Firm A " + marker
    tech_a = factories.technician(name="Tech A " + marker)
    owner_b = factories.firm_user()
    tech_b = factories.technician()
    db.session.commit()
    world = {"marker": marker, "owner_a": owner_a, "firm_a": firm_a, "tech_a": tech_a,
             "owner_b": owner_b, "tech_b": tech_b}
    for module in modules():
        module.build(world)
    # Every firm may find an active technician's public profile (the directory; what it
    # shows another firm is tests/find/test_directory.py's business). Suspended, technician
    # A is firm A's alone: firm B must neither find them nor open their profile.
    standing.suspend_technician(factories.admin(), tech_a.technician, "Under review " + marker)
    db.session.commit()
    return world


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        yield rule


def _url(rule, world, params, secrets):
    values = {}
    for arg in rule.arguments:
        if arg in params:
            values[arg] = params[arg](world)
        elif arg in secrets:
            values[arg] = secrets[arg]
        else:
            raise AssertionError(
                f"route {rule.rule} has parameter <{arg}> with no tenancy registration: "
                f"add it to a module in tests/tenancy/")
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^:>]+:)?{arg}>", str(value), path)
    return path


@pytest.mark.parametrize("actor_key", ["owner_b", "tech_b"])
def test_every_route_hides_firm_a_from_other_tenants(app, world, actor_key):
    params, secrets = _params()
    actor = world[actor_key]
    raw = tokens.issue_api_token(actor, "walker")[1]
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": actor.email, "password": factories.PASSWORD})
    before = _snapshot()
    headers = {"Authorization": f"Bearer {raw}"}
    leaks, opened = [], []
    for rule in _routes(app):
        url = _url(rule, world, params, secrets)
        has_ids = any(a in params for a in rule.arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            kwargs = {"headers": headers} if url.startswith("/api/") else {}
            if method != "GET":
                kwargs["data" if not url.startswith("/api/") else "json"] = {}
            response = client.open(url, method=method, **kwargs)
            body = response.get_data(as_text=True)
            if world["marker"] in body:
                leaks.append(f"{method} {url} -> {response.status_code}")
            if has_ids and response.status_code not in (302, 403, 404, 405):
                opened.append(f"{method} {url} -> {response.status_code}")
    db.session.expire_all()
    assert not leaks, f"firm A's data leaked to {actor_key}: {leaks}"
    assert not opened, f"{actor_key} reached firm A's objects: {opened}"
    assert _snapshot() == before, "a foreign request changed firm A's data"


def test_every_id_parameter_is_registered(app):
    params, secrets = _params()
    for rule in _routes(app):
        for arg in rule.arguments:
            assert arg in params or arg in secrets, f"{rule.rule}: <{arg}> not in tests/tenancy"


def test_ids_sent_in_a_body_are_checked_like_ids_in_a_path(app, world):
    """Starting an assignment from another firm's template or assignment is a 404,
    and nothing is created."""
    owner_b = world["owner_b"]
    raw = tokens.issue_api_token(owner_b, "walker")[1]
    db.session.commit()
    client = app.test_client()
    before = _snapshot()
    for field, key in (("template_id", "template_a"), ("duplicate_of", "assignment_a")):
        r = client.post("/api/v1/assignments", headers={"Authorization": f"Bearer {raw}"},
                        json={field: world[key].id, "start_date": "2031-06-03"})
        assert r.status_code == 404, (field, r.get_json())
        assert world["marker"] not in r.get_data(as_text=True)
    db.session.expire_all()
    assert _snapshot() == before
