"""Firm verification: owner submits legal details, admin decides, technicians see a badge."""
from __future__ import annotations

import pytest
from flask import render_template_string

from marketplace.accounts.models import FirmVerification, Role
from marketplace.core.audit import list_for_subject
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.verify import firms
from tests import factories

DETAILS = {"legal_name": "Acme Field Services LLC", "ein": "123456789",
           "address_line": "1 Main St", "city": "Dallas", "state": "tx", "postal_code": "75201"}


@pytest.fixture
def owner(ctx):
    user = factories.firm_user()
    user.firm.verification_status = FirmVerification.UNVERIFIED
    db.session.commit()
    return user


def test_owner_submits_details_and_admin_verifies_through_pages(app, owner, client, auth):
    auth.login(owner.email)
    assert client.post("/verify/firm", data=DETAILS).status_code == 302
    auth.logout()
    firm = owner.firm
    db.session.refresh(firm)
    assert firm.verification_status == FirmVerification.PENDING and firm.ein == "12-3456789"
    admin = factories.admin()
    auth.login(admin.email)
    assert firm.name in client.get("/verify/firms").get_data(as_text=True)
    assert client.post(f"/verify/firms/{firm.id}", data={"decision": "approve"}).status_code == 302
    db.session.refresh(firm)
    assert firm.verification_status == FirmVerification.VERIFIED
    assert [e.action for e in list_for_subject("firms", firm.id)][-1] == "firm.verified"


def test_bad_ein_and_state_are_refused_per_field(app, owner):
    with pytest.raises(ValidationFailed) as err:
        firms.submit_firm_details(owner, **{**DETAILS, "ein": "12-34", "state": "Texas"})
    assert set(err.value.fields) == {"ein", "state"}


def test_only_the_owner_submits_and_rejection_needs_a_reason(app, owner):
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    with pytest.raises(PermissionDenied):
        firms.submit_firm_details(dispatcher, **DETAILS)
    firms.submit_firm_details(owner, **DETAILS)
    admin = factories.admin()
    with pytest.raises(ValidationFailed):
        firms.review_firm(admin, owner.firm, approve=False)
    firms.review_firm(admin, owner.firm, approve=False, reason="EIN does not match the name")
    assert owner.firm.verification_status == FirmVerification.REJECTED


def test_verified_firm_badge_macro(app, owner):
    tpl = "{% from 'verify/_badges.html' import verified_firm %}{{ verified_firm(firm) }}"
    assert render_template_string(tpl, firm=owner.firm).strip() == ""
    owner.firm.verification_status = FirmVerification.VERIFIED
    assert "Verified firm" in render_template_string(tpl, firm=owner.firm)
