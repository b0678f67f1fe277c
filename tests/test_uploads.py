"""Uploads are judged by their whole content, on every path that takes files: credential
documents (the technician's form) and assignment attachments (the firm's page and the API).

The corpus is built by tests/files.py during the run."""
from __future__ import annotations

import io
import os
from datetime import date, datetime, timezone
from html import unescape

import pytest
from flask import current_app
from PIL import Image

from marketplace.accounts.tokens import issue_api_token
from marketplace.core import clock
from marketplace.core.uploads import Upload, check_upload
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.find.attachment_models import Attachment
from marketplace.integrations import storage
from marketplace.verify import submissions
from marketplace.verify.models import Credential, CredentialStatus
from tests import factories, files
from tests.find.helpers import make_assignment
from tests.verify.helpers import ctype

MB = 1024 * 1024
CORPUS = files.hostile()
REAL = files.real()
# What the person is told, per hostile file (one field error, next to the file field).
REFUSALS = {
    "decompression bomb": "too many pixels",
    "decompression bomb within Pillow's hard limit": "too many pixels",
    "PNG header + PHP": "starts like a PNG image but cannot be read as one",
    "PDF header + HTML": "starts like a PDF but cannot be read as one",
    "truncated JPEG": "starts like a JPEG image but cannot be read as one",
    "JPEG cut in half": "starts like a JPEG image but cannot be read as one",
    "zero bytes": "The file is empty.",
    "password-protected PDF": "protected by a password",
    "PDF without pages": "This PDF has no pages.",
}
assert set(REFUSALS) == set(CORPUS)


@pytest.fixture
def world(app, ctx):
    clock.travel_to(datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc), freeze=True)
    tech = factories.technician()
    owner = factories.firm_user()
    admin = factories.admin()
    _, token = issue_api_token(owner, "uploads")
    world = {"app": app, "tech": tech, "owner": owner, "admin": admin,
             "type": ctype(requires_document=True), "assignment": make_assignment(owner),
             "api": {"Authorization": f"Bearer {token}"}}
    db.session.commit()
    return world


def _client(w, who: str):
    """A browser signed in as the technician or the firm owner (signed in on first use)."""
    if f"{who}_client" not in w:
        client = w["app"].test_client()
        r = client.post("/login", data={"email": w[who].email, "password": factories.PASSWORD})
        assert r.status_code == 302
        w[f"{who}_client"] = client
    return w[f"{who}_client"]


def _stored_files() -> set[str]:
    root = current_app.config["STORAGE_DIR"]
    return set(os.listdir(root)) if os.path.isdir(root) else set()


CREDENTIAL_FIELDS = {"number": "GL-77", "issuer": "Lone Star Mutual",
                     "issued_on": "2026-01-01", "expires_on": "2027-01-01",
                     "coverage": "1000000"}


# The upload paths. Each posts one file and returns (refusal text or None, stored row or None).

def _credential_form(w, data: bytes, name: str):
    r = _client(w, "tech").post("/verify/credentials/new", data={
        "credential_type_id": str(w["type"].id), **CREDENTIAL_FIELDS,
        "document": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    db.session.expire_all()
    row = db.session.scalars(db.select(Credential)).one_or_none()
    if r.status_code == 302:
        return None, row
    assert r.status_code == 200, r.status_code
    return unescape(r.get_data(as_text=True)), row


def _attachment_page(w, data: bytes, name: str):
    client = _client(w, "owner")
    r = client.post(f"/assignments/{w['assignment'].id}/attachments",
                    data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert r.status_code == 302
    page = unescape(client.get(r.headers["Location"]).get_data(as_text=True))
    db.session.expire_all()
    row = db.session.scalars(db.select(Attachment)).one_or_none()
    return (None if row is not None else page), row


def _attachment_api(w, data: bytes, name: str):
    r = w["app"].test_client().post(
        f"/api/v1/assignments/{w['assignment'].id}/attachments", headers=w["api"],
        data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    db.session.expire_all()
    row = db.session.scalars(db.select(Attachment)).one_or_none()
    if r.status_code == 201:
        return None, row
    error = r.json["error"]
    assert list(error["fields"]) == ["file"], error
    return error["fields"]["file"] + f" [{r.status_code} {error['code']}]", row


PATHS = {"credential document": _credential_form, "attachment page": _attachment_page,
         "attachment API": _attachment_api}


def _key(row) -> str:
    return row.document_key if isinstance(row, Credential) else row.storage_key


def _mime(row) -> str:
    return row.document_mime if isinstance(row, Credential) else row.mime


def _download(w, row):
    if isinstance(row, Credential):
        return _client(w, "tech").get(f"/verify/credentials/{row.id}/document")
    return _client(w, "owner").get(f"/attachments/{row.id}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CORPUS)
def test_hostile_file_is_refused_with_one_field_error_and_nothing_is_stored(world, path, case):
    before = _stored_files()
    refusal, row = PATHS[path](world, CORPUS[case], "cert.png")
    assert row is None
    assert refusal is not None and REFUSALS[case] in refusal
    assert _stored_files() == before


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", REAL)
def test_real_small_documents_are_accepted_and_served_as_their_type(world, path, kind):
    data, mime = REAL[kind]
    refusal, row = PATHS[path](world, data, f"scan.{kind}")
    assert refusal is None and row is not None
    assert _mime(row) == mime
    stored = storage.load(_key(row))
    if mime == "application/pdf":
        assert stored == data
    else:  # re-encoded: the same picture
        with Image.open(io.BytesIO(stored)) as got, Image.open(io.BytesIO(data)) as sent:
            assert got.size == sent.size
            assert got.convert("RGB").getpixel((1, 1)) == pytest.approx(
                sent.convert("RGB").getpixel((1, 1)), abs=3)
    served = _download(world, row)
    assert served.status_code == 200 and served.mimetype == mime and served.data == stored


@pytest.mark.parametrize("path", PATHS)
def test_photo_comes_back_without_its_exif_location_and_turned_upright(world, path):
    sent = files.jpeg(16, 8, gps=True, orientation=6)     # 6: the camera was turned right
    with Image.open(io.BytesIO(sent)) as im:
        assert im.getexif().get_ifd(files.GPS_IFD)          # the corpus does carry a location
    refusal, row = PATHS[path](world, sent, "site.jpg")
    assert refusal is None
    served = _download(world, row).data
    assert b"Exif" not in served and b"PhoneMaker" not in served
    with Image.open(io.BytesIO(served)) as im:
        assert not im.getexif()
        assert im.size == (8, 16)


@pytest.mark.parametrize("path", PATHS)
def test_bytes_appended_to_a_real_image_are_not_stored(world, path):
    refusal, row = PATHS[path](world, files.png() + files.PHP, "map.png")
    assert refusal is None
    stored = storage.load(_key(row))
    assert b"<?php" not in stored and stored.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize("path", PATHS)
def test_an_encrypted_pdf_that_opens_without_a_password_is_accepted(world, path):
    refusal, row = PATHS[path](world, files.encrypted_pdf(""), "coi.pdf")
    assert refusal is None and _mime(row) == "application/pdf"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name, served", [
    ("cert.html", "cert.pdf"),
    ("cert.pdf\x00.html", "cert.pdf"),
    ("cert.svg", "cert.pdf"),
    ("scan", "scan.pdf"),
    ("Policy 2026.PDF", "Policy 2026.PDF"),
])
def test_a_file_is_served_with_the_extension_of_its_real_type(world, path, name, served):
    refusal, row = PATHS[path](world, files.pdf(), name)
    assert refusal is None
    disposition = _download(world, row).headers["Content-Disposition"]
    assert disposition.endswith(f'filename="{served}"')


def test_served_names_keep_the_uploader_words_and_only_the_real_extension():
    from marketplace.core.uploads import served_name
    assert served_name("photo.jpeg", "image/jpeg") == "photo.jpeg"
    assert served_name("photo.png", "image/jpeg") == "photo.jpg"
    assert served_name("invoice.exe", "image/png") == "invoice.png"
    assert served_name(".htaccess", "application/pdf") == "htaccess.pdf"
    assert served_name("../..", "application/pdf") == "document.pdf"
    assert served_name("a.pdf.pdf.html", "application/pdf") == "a.pdf.pdf"


def test_a_name_outside_ascii_is_sent_both_ways(world):
    refusal, row = _attachment_page(world, files.pdf(), "Prüfbericht Ω.html")
    assert refusal is None
    disposition = _download(world, row).headers["Content-Disposition"]
    assert 'filename="Prufbericht .pdf"' in disposition
    assert "filename*=UTF-8''Pr%C3%BCfbericht%20%CE%A9.pdf" in disposition


def test_the_pixel_budget_is_explicit_and_a_warning_counts_as_refusal(app, ctx):
    from PIL import Image as PILImage

    from marketplace.core import uploads
    assert PILImage.MAX_IMAGE_PIXELS == uploads.MAX_IMAGE_PIXELS == 40_000_000
    with pytest.raises(ValidationFailed) as refused:
        check_upload(Upload("big.png", files.png_bomb(7_000, 6_000)))   # 42 Mpx
    assert "too many pixels" in refused.value.fields["document"]
    assert check_upload(Upload("ok.png", files.png_bomb(6_000, 6_000))).mime == "image/png"


# Replaced documents ----------------------------------------------------------------------

def _needs_info(w, data: bytes) -> Credential:
    cred = submissions.submit_credential(w["tech"], credential_type_id=w["type"].id,
                                         expires_on=date(2027, 1, 1), coverage_cents=1,
                                         upload=Upload("old.pdf", data))
    db.session.commit()
    submissions.request_info(w["admin"], cred, "The page with the limits is missing.")
    db.session.commit()
    return cred


def test_answering_more_information_needed_removes_the_replaced_file(world):
    cred = _needs_info(world, files.pdf())
    old_key = cred.document_key
    r = _client(world, "tech").post(f"/verify/credentials/{cred.id}", data={
        **CREDENTIAL_FIELDS, "document": (io.BytesIO(files.pdf(pages=2)), "new.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.expire_all()
    cred = db.session.get(Credential, cred.id)
    assert cred.status == CredentialStatus.PENDING and cred.document_key != old_key
    assert storage.load(cred.document_key) == files.pdf(pages=2)
    with pytest.raises(FileNotFoundError):
        storage.load(old_key)


def test_a_refused_replacement_keeps_the_old_file(world):
    cred = _needs_info(world, files.pdf())
    old_key = cred.document_key
    before = _stored_files()
    r = _client(world, "tech").post(f"/verify/credentials/{cred.id}", data={
        **CREDENTIAL_FIELDS, "document": (io.BytesIO(CORPUS["PDF header + HTML"]), "new.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 200 and "cannot be read" in unescape(r.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Credential, cred.id).document_key == old_key
    assert storage.load(old_key) == files.pdf()
    assert _stored_files() == before


# Files over the limit ----------------------------------------------------------------------

def _big(size: int) -> bytes:
    return files.pdf() + b"%" + b"0" * (size - len(files.pdf()) - 1)


def test_a_13_mb_document_is_refused_on_the_form_with_the_other_fields_kept(world):
    before = _stored_files()
    refusal, row = _credential_form(world, _big(13 * MB), "scan.pdf")
    assert row is None and _stored_files() == before
    assert "The file is too large: the limit is 10 MB." in refusal
    for value in ("GL-77", "Lone Star Mutual", "2027-01-01"):
        assert f'value="{value}"' in refusal


def test_a_13_mb_attachment_is_refused_on_the_page_and_as_too_large_on_the_api(world):
    before = _stored_files()
    refusal, row = _attachment_page(world, _big(13 * MB), "scan.pdf")
    assert row is None and "The file is too large: the limit is 10 MB." in refusal
    refusal, row = _attachment_api(world, _big(13 * MB), "scan.pdf")
    assert row is None
    assert refusal == "The file is too large: the limit is 10 MB. [413 too_large]"
    assert _stored_files() == before


def test_past_the_request_cap_the_answer_is_still_clear(world):
    app = world["app"]
    app.config["UPLOAD_REQUEST_MAX_BYTES"] = 2 * MB
    try:
        page = _client(world, "tech").post("/verify/credentials/new", data={
            "credential_type_id": str(world["type"].id), **CREDENTIAL_FIELDS,
            "document": (io.BytesIO(_big(3 * MB)), "scan.pdf")},
            content_type="multipart/form-data")
        api = app.test_client().post(
            f"/api/v1/assignments/{world['assignment'].id}/attachments", headers=world["api"],
            data={"file": (io.BytesIO(_big(3 * MB)), "scan.pdf")},
            content_type="multipart/form-data")
    finally:
        app.config["UPLOAD_REQUEST_MAX_BYTES"] = 100 * MB
    assert page.status_code == 413
    assert "The file is too large: the limit is 10 MB." in page.get_data(as_text=True)
    assert api.status_code == 413 and api.json["error"]["code"] == "too_large"
    assert api.json["error"]["message"] == "The file is too large: the limit is 10 MB."


def test_other_bodies_keep_the_smaller_request_limit(world):
    r = world["app"].test_client().post("/api/v1/assignments", headers=world["api"],
                                        data=b"{" + b" " * (13 * MB) + b"}",
                                        content_type="application/json")
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    assert r.json["error"]["message"] == "The request is too large: the limit is 12 MB."
