"""Firms see documents of approved credentials, and get their private credential types
offered, only for technicians they work with (verify.relations)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from marketplace.core import clock
from marketplace.engage.models import Offer, OfferStatus
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.find import assignments
from marketplace.verify import catalog, relations, submissions
from tests import factories
from tests.verify.helpers import PDF, ctype, work_with

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def people(ctx):
    clock.travel_to(NOW, freeze=True)
    return {"tech": factories.technician(), "admin": factories.admin(),
            "firm": factories.firm_user(), "stranger": factories.firm_user()}


def _credential(people, decision: str | None = "approve"):
    t = ctype(requires_document=True)
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1,
                                         upload=submissions.Upload("coi.pdf", PDF))
    if decision == "approve":
        submissions.approve(people["admin"], cred)
    elif decision == "reject":
        submissions.reject(people["admin"], cred, "Forged")
    db.session.commit()
    return cred


def _doc_url(people, cred) -> str:
    return (f"/verify/technicians/{people['tech'].technician.id}"
            f"/credentials/{cred.id}/document")


def test_firm_sees_the_approved_document_of_a_technician_it_works_with(
        app, people, client, auth):
    cred = _credential(people)
    work_with(people["firm"], people["tech"])
    auth.login(people["firm"].email)
    page = client.get(f"/verify/technicians?technician={people['tech'].technician.id}")
    assert _doc_url(people, cred) in page.get_data(as_text=True)
    response = client.get(_doc_url(people, cred))
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Cache-Control"] == "private, no-store"


def test_firm_gets_404_for_a_technician_it_does_not_work_with(app, people, client, auth):
    cred = _credential(people)
    work_with(people["firm"], people["tech"])
    auth.login(people["stranger"].email)
    assert client.get(_doc_url(people, cred)).status_code == 404
    assert client.get(
        f"/verify/technicians?technician={people['tech'].technician.id}").status_code == 404
    with pytest.raises(NotFound):
        submissions.read_document(people["stranger"], cred)


def test_a_credential_of_another_technician_is_not_reached_through_this_one(
        app, people, client, auth):
    other = factories.technician()
    work_with(people["firm"], people["tech"])
    work_with(people["firm"], other)
    cred = _credential(people)
    auth.login(people["firm"].email)
    url = f"/verify/technicians/{other.technician.id}/credentials/{cred.id}/document"
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("decision", ["reject", None])
def test_rejected_or_pending_documents_are_never_visible_to_a_firm_it_works_with(
        app, people, client, auth, decision):
    cred = _credential(people, decision)
    work_with(people["firm"], people["tech"])
    auth.login(people["firm"].email)
    assert client.get(_doc_url(people, cred)).status_code == 404
    page = client.get(f"/verify/technicians?technician={people['tech'].technician.id}")
    assert _doc_url(people, cred) not in page.get_data(as_text=True)
    assert not submissions.can_see_document(people["firm"], cred)


def _assignment(owner):
    return assignments.create_assignment(owner, {
        "title": "Rack install", "address": "Dallas, TX 75201",
        "start_date": (NOW + timedelta(days=10)).date().isoformat(), "start_time": "09:00",
        "end_time": "11:00", "pricing": "fixed", "rate": "100", "description": ""})


@pytest.mark.parametrize("how", ["pool", "assignee", "offer"])
def test_a_firms_private_type_is_offered_to_technicians_it_works_with(app, people, how):
    firm, tech = people["firm"], people["tech"]
    private = catalog.create_type(firm, name="Acme site agreement", kind="agreement",
                                  requires_document=False, expires=False)
    other_private = catalog.create_type(people["stranger"], name="Other agreement",
                                        kind="agreement", requires_document=False,
                                        expires=False)
    db.session.commit()
    assert private not in catalog.submittable_types(tech.technician.id)
    if how == "pool":
        work_with(firm, tech)
    else:
        a = _assignment(firm)
        if how == "assignee":
            a.assignee_id = tech.technician.id
        else:
            db.session.add(Offer(assignment_id=a.id, technician_id=tech.technician.id,
                                 price_cents=10_000, expires_at=NOW + timedelta(days=1),
                                 status=OfferStatus.APPLIED, responded_at=NOW))
        db.session.commit()
    assert relations.works_with(firm.firm.id, tech.technician.id)
    offered = catalog.submittable_types(tech.technician.id)
    assert private in offered and other_private not in offered
    cred = submissions.submit_credential(tech, credential_type_id=private.id)
    assert cred.credential_type_id == private.id
    with pytest.raises(ValidationFailed):
        submissions.submit_credential(tech, credential_type_id=other_private.id)


def test_the_submission_form_lists_the_private_type_only_when_working_with_the_firm(
        app, people, client, auth):
    private = catalog.create_type(people["firm"], name="Acme site agreement",
                                  kind="agreement", requires_document=False, expires=False)
    db.session.commit()
    auth.login(people["tech"].email)
    assert "Acme site agreement" not in client.get("/verify/credentials/new").get_data(
        as_text=True)
    work_with(people["firm"], people["tech"])
    assert "Acme site agreement" in client.get("/verify/credentials/new").get_data(
        as_text=True)
    assert private.firm_id == people["firm"].firm.id


def _api(client, user):
    from marketplace.accounts.tokens import issue_api_token
    raw = issue_api_token(user, "t")[1]
    db.session.commit()
    return lambda url: client.get(url, headers={"Authorization": f"Bearer {raw}"})


def test_firm_reads_status_compliance_and_documents_over_the_api(app, people, client):
    """The same rule as the pages: approved documents only, never rejected
    submissions or reviewers' reasons, and 404 for a technician it does not work with."""
    cred = _credential(people)
    rejected = _credential(people, "reject")
    tech_id = people["tech"].technician.id
    rset = catalog.save_requirement_set(people["firm"], None, name="Insured",
                                        items={cred.credential_type_id: None})
    db.session.commit()
    work_with(people["firm"], people["tech"])
    get = _api(client, people["firm"])
    body = get(f"/api/v1/technicians/{tech_id}/credentials?set={rset.id}").get_json()
    assert [c["id"] for c in body["credentials"]] == [cred.id]
    assert rejected.id not in [c["id"] for c in body["credentials"]]
    assert "decision_reason" not in body["credentials"][0]
    assert body["compliance"] == {"requirement_set_id": rset.id, "on": "2026-06-01",
                                  "compliant": True, "failures": []}
    doc = get(body["credentials"][0]["document_url"])
    assert doc.status_code == 200 and doc.data == PDF
    assert get(f"/api/v1/technicians/{tech_id}/credentials/{rejected.id}/document"
               ).status_code == 404
    assert get(f"/api/v1/technicians/{tech_id}/credentials?set=x").status_code == 422

    clock.travel_to(datetime(2027, 1, 2, 12, tzinfo=timezone.utc), freeze=True)
    later = get(f"/api/v1/technicians/{tech_id}/credentials?set={rset.id}").get_json()
    assert later["compliance"]["compliant"] is False
    assert "expired" in later["compliance"]["failures"][0]

    stranger = _api(client, people["stranger"])
    assert stranger(f"/api/v1/technicians/{tech_id}/credentials").status_code == 404
    assert stranger(f"/api/v1/technicians/{tech_id}/credentials/{cred.id}/document"
                    ).status_code == 404
