"""Assignment files: checked by content and size, listed, served only to those who may see them."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.accounts.tokens import issue_api_token
from marketplace.engage import offers, routing
from marketplace.engage.models import Offer, RoutingMode, TargetKind
from marketplace.extensions import db
from marketplace.find import assignment_templates as templates_svc
from marketplace.find import assignments as svc
from marketplace.find import attachments
from marketplace.find.attachment_models import Attachment
from marketplace.find.models import AssignmentStatus
from marketplace.integrations import storage
from marketplace.core.uploads import Upload
from tests import factories
from tests.find.helpers import make_assignment
from tests.verify.helpers import PDF, PNG

SITE_MAP = PDF + b"% site map of the loading dock\n"


@pytest.fixture
def world(ctx):
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(email="owner@example.com")
    other = factories.firm_user(email="other@example.com")
    tech = factories.technician(email="tech@example.com")
    stranger = factories.technician(email="stranger@example.com")
    a = make_assignment(owner, title="Dock cameras")
    return {"owner": owner, "other": other, "tech": tech, "stranger": stranger, "a": a}


def _offer_to(world) -> Offer:
    routing.route_assignment(world["owner"], world["a"], mode=RoutingMode.FIRST_TO_ACCEPT,
                             stages=[routing.StagePlan(TargetKind.TECHNICIANS,
                                                       technician_ids=[world["tech"].technician.id])])
    db.session.commit()
    return db.session.query(Offer).filter_by(assignment_id=world["a"].id).one()


def _upload(client, assignment_id, data, name="site-map.pdf"):
    return client.post(f"/assignments/{assignment_id}/attachments",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_firm_attaches_a_pdf_and_sees_it_listed_and_downloads_it(client, auth, world):
    auth.login("owner@example.com")
    r = _upload(client, world["a"].id, SITE_MAP, "site-map.pdf")
    assert r.status_code == 302
    page = client.get(f"/assignments/{world['a'].id}").get_data(True)
    att = db.session.query(Attachment).one()
    assert att.filename == "site-map.pdf" and att.mime == "application/pdf"
    assert "site-map.pdf" in page and f"/attachments/{att.id}" in page
    download = client.get(f"/attachments/{att.id}")
    assert download.status_code == 200 and download.data == SITE_MAP
    assert download.mimetype == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download.headers["Content-Disposition"]


def test_a_file_is_judged_by_its_content_and_size_not_its_name(client, auth, world, app):
    auth.login("owner@example.com")
    r = _upload(client, world["a"].id, b"<html><script>alert(1)</script>", "plan.pdf")
    assert "whatever its name says" in client.get(r.headers["Location"]).get_data(True)
    app.config["UPLOAD_MAX_BYTES"] = 64
    try:
        _upload(client, world["a"].id, PNG + b"\x00" * 100, "photo.png")
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert db.session.query(Attachment).count() == 0


def test_technicians_see_files_only_once_offered_and_not_after_declining(client, auth, world):
    att = attachments.add_attachment(world["owner"], world["a"], Upload("wiring.png", PNG))
    db.session.commit()
    auth.login("tech@example.com")
    assert client.get(f"/attachments/{att.id}").status_code == 404
    offer = _offer_to(world)
    assert client.get(f"/attachments/{att.id}").data == PNG
    assert "wiring.png" in client.get(f"/offers/{offer.id}").get_data(True)
    offers.decline_offer(world["tech"], offer, "Too far")
    db.session.commit()
    assert client.get(f"/attachments/{att.id}").status_code == 404
    auth.logout()
    auth.login("stranger@example.com")
    assert client.get(f"/attachments/{att.id}").status_code == 404


def test_the_assigned_technician_keeps_access_and_files_stay_once_assigned(client, auth, world):
    att = attachments.add_attachment(world["owner"], world["a"], Upload("order.pdf", PDF))
    offer = _offer_to(world)
    offers.accept_offer(world["tech"], offer)
    db.session.commit()
    assert world["a"].status == AssignmentStatus.ASSIGNED
    auth.login("tech@example.com")
    assert client.get(f"/attachments/{att.id}").status_code == 200
    auth.logout()
    auth.login("owner@example.com")
    client.post(f"/attachments/{att.id}/delete")
    assert db.session.get(Attachment, att.id) is not None


def test_another_firm_cannot_read_or_delete(client, auth, world):
    att = attachments.add_attachment(world["owner"], world["a"], Upload("order.pdf", PDF))
    db.session.commit()
    auth.login("other@example.com")
    assert client.get(f"/attachments/{att.id}").status_code == 404
    assert client.post(f"/attachments/{att.id}/delete").status_code == 404
    assert _upload(client, world["a"].id, PDF).status_code == 404


def test_templates_and_duplicates_carry_files_and_the_last_reference_deletes_the_bytes(
        client, auth, world):
    att = attachments.add_attachment(world["owner"], world["a"], Upload("order.pdf", PDF))
    template = templates_svc.save_as_template(world["owner"], world["a"], "Dock")
    db.session.commit()
    auth.login("owner@example.com")
    form = client.get(f"/assignments/new?template={template.id}").get_data(True)
    assert "order.pdf" in form
    r = client.post(f"/assignments/new?template={template.id}", data={
        "title": "Dock cameras", "address": "Dallas, TX 75201", "requirement_set_id": 0,
        "skill_level": 2, "radius_km": 50, "schedule_kind": "window",
        "start_date": "2030-06-10", "start_time": "09:00", "end_time": "11:00",
        "pricing": "fixed", "rate": "200", "payment_terms_days": 30})
    assert r.status_code == 302
    rows = db.session.query(Attachment).filter_by(storage_key=att.storage_key).all()
    assert len(rows) == 3  # the original, the template's, the new assignment's
    client.post(f"/templates/{template.id}/delete")
    client.post(f"/attachments/{att.id}/delete")
    assert storage.load(att.storage_key) == PDF  # the new assignment still needs it
    last = db.session.query(Attachment).filter_by(storage_key=att.storage_key).one()
    client.post(f"/attachments/{last.id}/delete")
    with pytest.raises(FileNotFoundError):
        storage.load(att.storage_key)


def test_duplicate_copies_files(ctx, world):
    attachments.add_attachment(world["owner"], world["a"], Upload("order.pdf", PDF))
    copy = svc.create_assignment(world["owner"], {
        **templates_svc.prefill_duplicate(world["a"]), "start_date": "2030-06-11",
        "start_time": "09:00", "end_time": "11:00"}, files_from=world["a"])
    db.session.commit()
    assert [f.filename for f in attachments.list_attachments(copy)] == ["order.pdf"]


def test_api_lists_uploads_downloads_and_deletes(client, world):
    _, owner_token = issue_api_token(world["owner"], "t")
    _, tech_token = issue_api_token(world["tech"], "t")
    db.session.commit()
    owner = {"Authorization": f"Bearer {owner_token}"}
    tech = {"Authorization": f"Bearer {tech_token}"}
    url = f"/api/v1/assignments/{world['a'].id}/attachments"
    created = client.post(url, data={"file": (io.BytesIO(SITE_MAP), "map.pdf")},
                          content_type="multipart/form-data", headers=owner)
    assert created.status_code == 201 and created.json["mime"] == "application/pdf"
    bad = client.post(url, data={"file": (io.BytesIO(b"MZ\x90"), "map.pdf")},
                      content_type="multipart/form-data", headers=owner)
    assert bad.status_code == 422 and "file" in bad.json["error"]["fields"]
    assert client.get(url, headers=tech).status_code == 404
    _offer_to(world)
    listed = client.get(url, headers=tech).json["data"]
    assert [f["filename"] for f in listed] == ["map.pdf"]
    assert client.get(listed[0]["download_url"], headers=tech).data == SITE_MAP
    assert client.delete(listed[0]["download_url"], headers=tech).status_code == 403
    assert client.delete(listed[0]["download_url"], headers=owner).json == {
        "deleted": listed[0]["id"]}
    assert client.get(url, headers=owner).json["data"] == []


def test_an_uploaded_name_keeps_no_folder_part():
    from marketplace.core.uploads import clean_filename
    assert clean_filename("C:\\plans\\dock map.pdf") == "dock map.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("  ") == "document"


def test_a_file_stored_in_a_transaction_that_rolls_back_is_removed(ctx, world):
    """The bytes are written before the row that names them commits: a rollback
    takes them away again, while a commit keeps them."""
    db.session.commit()
    kept = attachments.add_attachment(world["owner"], world["a"], Upload("kept.pdf", PDF))
    db.session.commit()
    dropped = attachments.add_attachment(world["owner"], world["a"], Upload("gone.pdf", PNG))
    key = dropped.storage_key
    assert storage.load(key) == PNG
    db.session.rollback()
    with pytest.raises(FileNotFoundError):
        storage.load(key)
    assert storage.load(kept.storage_key) == PDF
