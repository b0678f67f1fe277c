"""Every verify page renders for the role it is for, with data on it, and has no inline script or style."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.verify import catalog, firms, submissions
from tests import factories
from tests.verify.helpers import PDF, PNG, ctype, work_with


@pytest.fixture
def data(ctx):
    clock.travel_to(datetime(2026, 6, 1, 12, tzinfo=timezone.utc), freeze=True)
    tech, admin, owner = factories.technician(), factories.admin(), factories.firm_user()
    t = ctype(requires_document=True)
    pdf = submissions.submit_credential(tech, credential_type_id=t.id, coverage_cents=1,
                                        expires_on=date(2027, 1, 1),
                                        upload=submissions.Upload("a.pdf", PDF))
    png = submissions.submit_credential(tech, credential_type_id=t.id, coverage_cents=1,
                                        expires_on=date(2027, 1, 1),
                                        upload=submissions.Upload("a.png", PNG))
    submissions.request_info(admin, png, "Page two please")
    work_with(owner, tech)
    private = catalog.create_type(owner, name="Acme agreement", kind="agreement")
    rset = catalog.save_requirement_set(owner, None, name="Retail", items={t.id: 100})
    owner.firm.verification_status = owner.firm.verification_status.UNVERIFIED
    firms.submit_firm_details(owner, legal_name="Acme LLC", ein="12-3456789",
                              address_line="1 Main", city="Dallas", state="TX",
                              postal_code="75201")
    db.session.commit()
    return {"tech": tech, "admin": admin, "owner": owner, "pdf": pdf, "png": png, "type": t,
            "private": private, "rset": rset}


def _pages(d):
    return {
        "tech": ["/verify/credentials", "/verify/credentials/new",
                 f"/verify/credentials/{d['pdf'].id}", f"/verify/credentials/{d['png'].id}",
                 "/tech"],
        "admin": ["/verify/review", f"/verify/review/{d['pdf'].id}",
                  f"/verify/review/{d['png'].id}", "/verify/types",
                  f"/verify/types/{d['type'].id}", "/verify/types/new", "/verify/requirements",
                  "/verify/requirements/new", "/verify/firms",
                  f"/verify/firms/{d['owner'].firm.id}", "/admin"],
        "owner": ["/verify/types", f"/verify/types/{d['private'].id}", "/verify/requirements",
                  f"/verify/requirements/{d['rset'].id}", "/verify/firm",
                  f"/verify/technicians?technician={d['tech'].technician.id}&set={d['rset'].id}"],
    }


@pytest.mark.parametrize("role", ["tech", "admin", "owner"])
def test_verify_pages_render_for_their_role_without_inline_script_or_style(
        app, data, client, auth, role):
    auth.login(data[role].email)
    for url in _pages(data)[role]:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), url
        assert 'style="' not in body, url
