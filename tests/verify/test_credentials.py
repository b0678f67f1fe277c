"""Submission, uploads, review decisions, who sees which document."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.core.audit import list_for_subject
from marketplace.errors import InvalidState, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.verify import catalog, submissions
from marketplace.verify.models import Credential, CredentialStatus
from tests import factories
from tests.verify.helpers import JPEG, PDF, PNG, approved, ctype, work_with

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def people(ctx):
    clock.travel_to(NOW, freeze=True)
    return {"tech": factories.technician(), "admin": factories.admin(),
            "firm": factories.firm_user(), "other_tech": factories.technician()}


def _post_credential(client, type_id, data: bytes, name="cert.pdf", **extra):
    form = {"credential_type_id": str(type_id), "number": "GL-1", "issuer": "Acme Mutual",
            "issued_on": "2026-01-01", "expires_on": "2027-01-01", "coverage": "1000000",
            "document": (io.BytesIO(data), name)}
    form.update(extra)
    return client.post("/verify/credentials/new", data=form,
                       content_type="multipart/form-data")


def test_technician_submits_insurance_with_pdf_from_the_phone_form(app, people, client, auth):
    t = ctype(requires_document=True)
    auth.login(people["tech"].email)
    response = _post_credential(client, t.id, PDF)
    assert response.status_code == 302
    cred = db.session.scalars(db.select(Credential)).one()
    assert cred.status == CredentialStatus.PENDING
    assert cred.document_mime == "application/pdf"
    assert cred.coverage_cents == 100_000_000
    page = client.get("/verify/credentials").get_data(as_text=True)
    assert "General liability insurance" in page and "Pending" in page


def test_upload_that_lies_about_its_type_is_refused_with_a_clear_message(app, people, client, auth):
    t = ctype(requires_document=True)
    auth.login(people["tech"].email)
    response = _post_credential(client, t.id, b"MZ\x90\x00 not a pdf at all", name="policy.pdf")
    assert response.status_code == 200
    assert "Only PDF, JPEG or PNG files are accepted" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Credential)) == 0


def test_upload_over_the_size_limit_is_refused(app, people, client, auth):
    t = ctype(requires_document=True)
    app.config["UPLOAD_MAX_BYTES"] = 1024
    try:
        auth.login(people["tech"].email)
        response = _post_credential(client, t.id, PDF + b"0" * 2000)
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert "The file is too large" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Credential)) == 0


def test_png_and_jpeg_photos_are_sniffed_as_images(app, people):
    t = ctype(requires_document=True)
    a = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                      expires_on=date(2027, 1, 1), coverage_cents=1,
                                      upload=submissions.Upload("x.pdf", PNG))
    b = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                      expires_on=date(2027, 1, 1), coverage_cents=1,
                                      upload=submissions.Upload("x.txt", JPEG))
    assert (a.document_mime, b.document_mime) == ("image/png", "image/jpeg")


def test_expiring_type_needs_a_future_expiry_date(app, people):
    t = ctype()
    with pytest.raises(ValidationFailed) as err:
        submissions.submit_credential(people["tech"], credential_type_id=t.id, coverage_cents=1)
    assert "expires_on" in err.value.fields
    with pytest.raises(ValidationFailed):
        submissions.submit_credential(people["tech"], credential_type_id=t.id, coverage_cents=1,
                                      expires_on=date(2026, 5, 1))


def test_admin_approves_and_decision_is_audited_and_notified(app, people):
    t = ctype()
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1)
    db.session.commit()
    submissions.approve(people["admin"], cred)
    db.session.commit()
    assert cred.status == CredentialStatus.APPROVED and cred.reviewed_by_id == people["admin"].id
    actions = [e.action for e in list_for_subject("credentials", cred.id)]
    assert actions == ["credential.submitted", "credential.approved"]
    assert db.session.scalar(db.select(Notification.title).where(
        Notification.user_id == people["tech"].id)) == "General liability insurance approved"
    with pytest.raises(InvalidState):
        submissions.reject(people["admin"], cred, "too late")


def test_rejection_needs_a_reason_and_the_technician_sees_it(app, people, client, auth):
    t = ctype()
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        submissions.reject(people["admin"], cred, "  ")
    db.session.rollback()
    submissions.reject(people["admin"], cred, "The policy number is unreadable")
    db.session.commit()
    assert [e.action for e in list_for_subject("credentials", cred.id)][-1] == "credential.rejected"
    auth.login(people["tech"].email)
    assert "The policy number is unreadable" in client.get("/verify/credentials").get_data(as_text=True)


def test_admin_review_pages_decide_through_http(app, people, client, auth):
    t = ctype(requires_document=True)
    old = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                        expires_on=date(2027, 1, 1), coverage_cents=1,
                                        upload=submissions.Upload("a.pdf", PDF))
    db.session.commit()
    clock.advance(__import__("datetime").timedelta(hours=1))
    new = submissions.submit_credential(people["other_tech"], credential_type_id=t.id,
                                        expires_on=date(2027, 1, 1), coverage_cents=1,
                                        upload=submissions.Upload("b.png", PNG))
    db.session.commit()
    assert [c.id for c in submissions.review_queue()] == [old.id, new.id]
    auth.login(people["admin"].email)
    page = client.get(f"/verify/review/{old.id}").get_data(as_text=True)
    assert f"/verify/credentials/{old.id}/document" in page
    doc = client.get(f"/verify/credentials/{old.id}/document?inline=1")
    assert doc.status_code == 200 and doc.data == PDF and doc.mimetype == "application/pdf"
    r = client.post(f"/verify/review/{old.id}/request-info", data={"reason": "Show page 2"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Credential, old.id).status == CredentialStatus.NEEDS_INFO
    r = client.post(f"/verify/review/{new.id}/reject", data={"reason": ""})
    assert r.status_code == 422
    assert db.session.get(Credential, new.id).status == CredentialStatus.PENDING


def test_technician_answers_request_for_information_and_goes_back_in_line(app, people):
    t = ctype()
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1)
    submissions.request_info(people["admin"], cred, "Which insurer?")
    db.session.commit()
    submissions.respond_to_request(people["tech"], cred, number="9", issuer="Acme",
                                   issued_on=None, expires_on=date(2027, 1, 1),
                                   coverage_cents=5, upload=None)
    db.session.commit()
    assert cred.status == CredentialStatus.PENDING and cred.issuer == "Acme"


def test_renewal_supersedes_the_old_credential_only_on_approval(app, people):
    t = ctype()
    old = approved(people["tech"], t, date(2026, 6, 20))
    renewal = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                            expires_on=date(2027, 6, 20), coverage_cents=1)
    db.session.commit()
    assert renewal.supersedes_id == old.id
    db.session.refresh(old)
    assert old.status == CredentialStatus.APPROVED
    submissions.approve(people["admin"], renewal)
    db.session.commit()
    db.session.refresh(old)
    assert old.status == CredentialStatus.SUPERSEDED


def test_rejected_document_is_never_visible_to_a_firm(app, people):
    t = ctype(requires_document=True)
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1,
                                         upload=submissions.Upload("a.pdf", PDF))
    submissions.reject(people["admin"], cred, "Forged")
    db.session.commit()
    firm = people["firm"]
    assert not submissions.can_see_document(firm, cred)
    with pytest.raises(NotFound):
        submissions.read_document(firm, cred)
    listed = submissions.list_for_technician(people["tech"].technician, for_firm=True)
    assert cred not in listed


def test_other_technicians_and_firms_cannot_fetch_a_document(app, people, client, auth):
    t = ctype(requires_document=True)
    cred = submissions.submit_credential(people["tech"], credential_type_id=t.id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1,
                                         upload=submissions.Upload("a.pdf", PDF))
    db.session.commit()
    for who in ("other_tech", "firm"):
        auth.login(people[who].email)
        assert client.get(f"/verify/credentials/{cred.id}/document").status_code == 404
        auth.logout()
    auth.login(people["tech"].email)
    assert client.get(f"/verify/credentials/{cred.id}/document").data == PDF


def test_firm_sees_technician_status_and_compliance_explanation(app, people, client, auth):
    t = ctype()
    approved(people["tech"], t, date(2026, 5, 20)).status = CredentialStatus.EXPIRED
    db.session.commit()
    rset = catalog.save_requirement_set(people["firm"], None, name="Retail",
                                        items={t.id: None})
    db.session.commit()
    work_with(people["firm"], people["tech"])
    auth.login(people["firm"].email)
    page = client.get(f"/verify/technicians?technician={people['tech'].technician.id}"
                      f"&set={rset.id}").get_data(as_text=True)
    assert "General liability insurance expired 2026-05-20." in page


def test_a_firms_private_type_is_not_offered_to_technicians(app, people):
    private = catalog.create_type(people["firm"], name="Acme site agreement", kind="agreement",
                                  requires_document=False, expires=False)
    db.session.commit()
    assert private not in catalog.submittable_types(people["tech"].technician.id)
    with pytest.raises(ValidationFailed):
        submissions.submit_credential(people["tech"], credential_type_id=private.id)
