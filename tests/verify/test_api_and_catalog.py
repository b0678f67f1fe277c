"""Verify over JSON; catalog and requirement-set rules."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.accounts import tokens
from marketplace.accounts.models import Role
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.verify import catalog, compliance
from marketplace.verify.models import Credential, CredentialStatus
from tests import factories
from tests.verify.helpers import approved, ctype


@pytest.fixture
def people(ctx):
    clock.travel_to(datetime(2026, 6, 1, 12, tzinfo=timezone.utc), freeze=True)
    return {"tech": factories.technician(), "admin": factories.admin(),
            "firm": factories.firm_user()}


def _headers(user):
    raw = tokens.issue_api_token(user, "t")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_technician_submits_and_admin_approves_over_the_api(app, people, client):
    t = ctype()
    r = client.post("/api/v1/credentials", headers=_headers(people["tech"]), json={
        "credential_type_id": t.id, "expires_on": "2027-01-01", "coverage_cents": 200_000_000})
    assert r.status_code == 201, r.json
    cred_id = r.json["id"]
    admin_h = _headers(people["admin"])
    assert [c["id"] for c in client.get("/api/v1/review-queue", headers=admin_h).json["data"]] \
        == [cred_id]
    r = client.post(f"/api/v1/credentials/{cred_id}/decision", headers=admin_h,
                    json={"decision": "approve"})
    assert r.status_code == 200 and r.json["status"] == "approved"
    r = client.post(f"/api/v1/credentials/{cred_id}/decision", headers=admin_h,
                    json={"decision": "reject", "reason": "x"})
    assert r.status_code == 409


def test_api_refuses_a_bad_date_with_a_field_error(app, people, client):
    t = ctype()
    r = client.post("/api/v1/credentials", headers=_headers(people["tech"]),
                    json={"credential_type_id": t.id, "expires_on": "next year"})
    assert r.status_code == 422 and "expires_on" in r.json["error"]["fields"]


def test_firm_cannot_decide_credentials(app, people, client):
    t = ctype()
    cred = approved(people["tech"], t, date(2027, 1, 1))
    cred.status = CredentialStatus.PENDING
    db.session.commit()
    r = client.post(f"/api/v1/credentials/{cred.id}/decision", headers=_headers(people["firm"]),
                    json={"decision": "approve"})
    assert r.status_code == 403
    assert db.session.get(Credential, cred.id).status == CredentialStatus.PENDING


def test_admin_creates_platform_types_and_firm_creates_private_ones(app, people, client, auth):
    auth.login(people["admin"].email)
    r = client.post("/verify/types/new", data={"name": "OSHA 10", "kind": "certification",
                                               "requires_document": "y"})
    assert r.status_code == 302
    auth.logout()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=people["firm"].firm)
    with pytest.raises(PermissionDenied):
        catalog.create_type(dispatcher, name="x", kind="agreement")
    private = catalog.create_type(people["firm"], name="Site agreement", kind="agreement")
    db.session.commit()
    names = {t.name: t.firm_id for t in catalog.list_types(people["firm"])}
    assert names == {"OSHA 10": None, "Site agreement": people["firm"].firm.id}
    other = factories.firm_user()
    assert "Site agreement" not in {t.name for t in catalog.list_types(other)}
    with pytest.raises(NotFound):
        catalog.access_type_for_edit(other, private.id)


def test_requirement_set_crud_and_minimum_coverage_explained(app, people, client, auth):
    t = ctype()
    osha = ctype("OSHA 10", expires=False)
    auth.login(people["firm"].email)
    r = client.post("/verify/requirements/new", data={
        "name": "Retail installs", f"item-{t.id}": "1", f"cov-{t.id}": "2000000",
        f"item-{osha.id}": "1"})
    assert r.status_code == 302
    rset = catalog.list_requirement_sets(people["firm"])[0]
    assert {i.credential_type_id: i.min_coverage_cents for i in rset.items} == {
        t.id: 200_000_000, osha.id: None}
    approved(people["tech"], t, date(2027, 1, 1), coverage_cents=100_000_000)
    result = compliance.check(people["tech"].technician.id, rset.id, clock.today())
    assert result.failures == [
        "General liability insurance covers less than the required $2,000,000.00.",
        "OSHA 10 is missing."]
    assert client.post(f"/verify/requirements/{rset.id}", data={
        "name": "Retail", f"item-{osha.id}": "1"}).status_code == 302
    db.session.expire_all()
    assert [i.credential_type_id for i in rset.items] == [osha.id]
    with pytest.raises(NotFound):
        catalog.access_requirement_set(factories.firm_user(), rset.id)
    assert client.post(f"/verify/requirements/{rset.id}/delete").status_code == 302
    assert catalog.list_requirement_sets(people["firm"]) == []


def test_requirement_set_refuses_another_firms_private_type(app, people):
    other = factories.firm_user()
    private = catalog.create_type(other, name="Theirs", kind="agreement")
    with pytest.raises(ValidationFailed):
        catalog.save_requirement_set(people["firm"], None, name="Mine",
                                     items={private.id: None})


def test_catalog_pages_offer_edit_links_only_where_the_service_allows(app, people, client, auth):
    platform = catalog.create_type(people["admin"], name="OSHA 10", kind="certification")
    private = catalog.create_type(people["firm"], name="Site agreement", kind="agreement")
    rset = catalog.save_requirement_set(people["firm"], None, name="Retail",
                                        items={private.id: None})
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=people["firm"].firm)
    db.session.commit()
    assert catalog.can_edit_type(people["firm"], private)
    assert not catalog.can_edit_type(people["firm"], platform)
    assert catalog.can_edit_type(people["admin"], platform)
    assert not catalog.can_edit_type(people["admin"], private)
    assert not catalog.can_edit_type(dispatcher, private)
    assert catalog.can_edit_set(people["firm"], rset) and not catalog.can_edit_set(dispatcher, rset)
    edit_private, edit_platform = f"/verify/types/{private.id}\"", f"/verify/types/{platform.id}\""
    edit_set = f"/verify/requirements/{rset.id}\""
    seen = {}
    for who in ("firm", "admin", "dispatcher"):
        user = dispatcher if who == "dispatcher" else people[who]
        auth.login(user.email)
        types_page = client.get("/verify/types").get_data(as_text=True)
        sets_page = client.get("/verify/requirements").get_data(as_text=True)
        seen[who] = (edit_private in types_page, edit_platform in types_page,
                     edit_set in sets_page, "/verify/types/new" in types_page)
        auth.logout()
    assert seen == {"firm": (True, False, True, True), "admin": (False, True, False, True),
                    "dispatcher": (False, False, False, False)}
