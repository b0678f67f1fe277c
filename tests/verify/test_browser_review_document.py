"""In Chromium: the admin reviewing a credential sees its PDF inline, under a policy that
lets only that page frame it, and its details as labelled values."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.core.uploads import Upload
from marketplace.demo.find import scope_pdf
from marketplace.extensions import db
from marketplace.verify import submissions
from marketplace.verify.models import CredentialKind, CredentialType
from marketplace.web.security import CSP
from tests import factories
from tests.browser import login, screenshot

pytestmark = pytest.mark.browser


def _directives(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
            for part in header.split(";") if part.strip()}


def test_admin_sees_the_pdf_inline_and_the_details_labelled(app, ctx, browser, live_server):
    clock.travel_to(datetime(2030, 3, 1, 15, tzinfo=timezone.utc))
    admin = factories.admin(name="Ada Admin")
    tech = factories.technician(name="Ian Installer")
    ctype = CredentialType(name="General liability insurance", kind=CredentialKind.INSURANCE)
    db.session.add(ctype)
    db.session.commit()
    cred = submissions.submit_credential(
        tech, credential_type_id=ctype.id, number="GL-7788", issuer="Lone Star Mutual",
        issued_on=date(2030, 1, 1), expires_on=date(2031, 1, 1), coverage_cents=200_000_000,
        upload=Upload("certificate.pdf", scope_pdf("Certificate of insurance",
                                                   ["Policy GL-7788, Lone Star Mutual"])))
    db.session.commit()

    page = browser.new_context().new_page()
    login(page, live_server.url, admin.email, factories.PASSWORD)
    documents = []
    page.on("response", lambda r: documents.append(r) if "/document" in r.url else None)
    response = page.goto(f"{live_server.url}/verify/review/{cred.id}")
    page.wait_for_timeout(1500)        # the PDF viewer loads in its frame
    screenshot(page, "verify-admin-review-pdf")

    # The page may frame our own documents; everything else of the policy is the site's.
    page_csp = _directives(response.all_headers()["content-security-policy"])
    assert page_csp.pop("frame-src") == "'self'"
    assert page_csp == _directives(CSP)
    # The document: a PDF, framable by our pages only, running nothing of its own.
    assert documents, "the page did not load the document"
    doc, headers = documents[0], documents[0].all_headers()
    assert doc.status == 200 and headers["content-type"] == "application/pdf"
    doc_csp = _directives(headers["content-security-policy"])
    assert doc_csp["frame-ancestors"] == "'self'" and doc_csp["default-src"] == "'none'"
    assert "sandbox" in doc_csp and headers["x-frame-options"] == "SAMEORIGIN"
    # Chromium's PDF viewer took the frame (a blocked frame shows an error page instead).
    assert any(f.url.startswith("chrome-extension://") for f in page.frames)
    assert not any(f.url.startswith("chrome-error://") for f in page.frames)

    details = page.locator("dl.details")
    pairs = dict(zip(details.locator("dt").all_inner_texts(), details.locator("dd").all_inner_texts()))
    assert pairs["Kind"] == "Insurance" and pairs["Number"] == "GL-7788"
    assert pairs["Issued by"] == "Lone Star Mutual" and pairs["Expires"] == "2031-01-01"
    label, value = details.locator("dt").first, details.locator("dd").first
    assert label.bounding_box()["x"] < value.bounding_box()["x"]      # side by side, not run on
    assert "Ian Installer submitted it" in page.inner_text("#history")

    # Every other page keeps the site's policy: no frames, no framing.
    other = page.goto(f"{live_server.url}/verify/review")
    assert other.all_headers()["content-security-policy"] == CSP
    assert other.all_headers()["x-frame-options"] == "DENY"
