"""In Chromium: upload insurance on a phone, admin approves, the firm sees compliance,
time passes the expiry, the sweep runs, and the technician sees the offboarding notice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.verify.models import (CredentialKind, CredentialType, RequirementItem,
                                       RequirementSet)
from tests import factories, files
from tests.browser import PHONE, login, screenshot
from tests.verify.helpers import work_with

pytestmark = pytest.mark.browser
PDF = files.pdf()


def test_insurance_upload_approval_compliance_expiry_and_offboarding(app, ctx, browser,
                                                                      live_server, tmp_path):
    clock.travel_to(datetime(2027, 3, 1, 15, tzinfo=timezone.utc))
    owner = factories.firm_user(name="Olive Owner")
    admin = factories.admin(name="Ada Admin")
    tech = factories.technician(name="Ian Installer")
    insurance = CredentialType(name="General liability insurance", kind=CredentialKind.INSURANCE,
                               issuing_body="Any licensed insurer", default_coverage_cents=100_000_000)
    insured = RequirementSet(firm_id=owner.firm.id, name="Insured site work")
    db.session.add_all([insurance, insured])
    db.session.flush()
    db.session.add(RequirementItem(requirement_set_id=insured.id, credential_type_id=insurance.id,
                                   min_coverage_cents=100_000_000))
    db.session.commit()
    work_with(owner, tech)
    tech_id, set_id = tech.technician.id, insured.id
    certificate = tmp_path / "coi.pdf"
    certificate.write_bytes(PDF)
    expires = (clock.today() + timedelta(days=20)).isoformat()

    phone = browser.new_context(**PHONE)
    tp = phone.new_page()
    login(tp, live_server.url, tech.email, factories.PASSWORD)
    tp.goto(f"{live_server.url}/verify/credentials/new")
    tp.select_option("select[name=credential_type_id]", label="General liability insurance")
    tp.fill("input[name=number]", "GL-7788")
    tp.fill("input[name=issuer]", "Lone Star Mutual")
    tp.fill("input[name=issued_on]", clock.today().isoformat())
    tp.fill("input[name=expires_on]", expires)
    tp.fill("input[name=coverage]", "2000000")
    tp.set_input_files("input[name=document]", str(certificate))
    screenshot(tp, "verify-technician-upload-phone")
    tp.click("button:has-text('Submit for review')")
    tp.wait_for_load_state()
    assert "Pending" in tp.inner_text("main")

    desk = browser.new_context()
    ap = desk.new_page()
    login(ap, live_server.url, admin.email, factories.PASSWORD)
    ap.goto(f"{live_server.url}/verify/review")
    ap.click("a:has-text('Review') >> nth=-1")
    ap.wait_for_selector("button:has-text('Approve')")
    screenshot(ap, "verify-admin-review")
    ap.click("button:has-text('Approve')")
    ap.wait_for_selector("text=Approved.")

    firm = browser.new_context()
    fp = firm.new_page()
    login(fp, live_server.url, owner.email, factories.PASSWORD)
    fp.goto(f"{live_server.url}/verify/technicians?technician={tech_id}&set={set_id}")
    assert "Compliant with Insured site work." in fp.inner_text("main")
    screenshot(fp, "verify-firm-sees-compliant")

    clock.travel_to(datetime(2027, 3, 23, 15, tzinfo=timezone.utc))  # two days past expiry
    ap.goto(f"{live_server.url}/verify/review")
    ap.click("a:has-text('Run expiry sweep now')")
    ap.check("input[name=confirm]")
    screenshot(ap, "verify-admin-sweep-confirm")
    ap.click("button:has-text('Run the sweep')")
    ap.wait_for_selector("text=Sweep done")
    assert "1 expired" in ap.inner_text(".flashes")

    fp.reload()
    assert "General liability insurance expired" in fp.inner_text("main")
    tp.goto(f"{live_server.url}/tech")
    notice = tp.inner_text("main")
    assert f"Your General liability insurance expired {expires}" in notice
    assert "removed from work that requires it" in notice
    screenshot(tp, "verify-technician-offboarding-notice-phone")
    for c in (phone, desk, firm):
        c.close()
