"""What the books' pages say: payment settings, funds on the offer and beside routing,
the missing amount when routing is refused, the auto-approval date on submitted work."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.engage.models import Offer
from marketplace.extensions import db
from marketplace.pay import settings
from tests import factories
from tests.find.helpers import DALLAS, tech_at
from tests.pages import squash, text
from tests.pay.books_helpers import draft_work, fund, submitted, taken


@pytest.fixture
def funds_required(app):
    app.config["PAY_FUNDS_REQUIRED"] = True
    yield
    app.config["PAY_FUNDS_REQUIRED"] = False


def test_payment_settings_page_saves_and_keeps_choices(app, ctx, client, auth):
    owner, _ = draft_work()
    auth.login(owner.email)
    page = client.get("/pay/settings").get_data(as_text=True)
    assert "approved automatically 7 days after" in squash(text(page, "pay-settings-now"))
    r = client.post("/pay/settings", data={"auto_approve_days": "10", "payment_terms_days": "15"})
    assert r.status_code == 302
    page = client.get("/pay/settings").get_data(as_text=True)
    assert "10 days after it is submitted; technicians are paid 15 days after approval" in \
        squash(text(page, "pay-settings-now"))
    r = client.post("/pay/settings", data={"auto_approve_days": "99", "payment_terms_days": "15"})
    assert r.status_code == 200 and "Not a valid choice" in r.get_data(as_text=True)
    assert settings.for_firm(owner.firm.id).auto_approve_days == 10


def test_a_dispatcher_cannot_change_payment_settings(app, ctx, client, auth):
    from marketplace.accounts.models import Role
    owner, _ = draft_work()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    auth.login(dispatcher.email)
    assert client.get("/pay/settings").status_code == 403


def test_offer_says_funds_secured_next_to_the_verified_firm(app, ctx, client, auth,
                                                          funds_required):
    from marketplace.engage import routing  # noqa: F401
    owner, job = draft_work(budget=20000)
    tech = tech_at(*DALLAS)
    fund(owner.firm.id, 20000)
    from tests.pay.books_helpers import route
    route(owner, job, tech)
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    auth.login(tech.user.email)
    page = client.get(f"/offers/{offer.id}").get_data(as_text=True)
    assert squash(text(page, "funds-secured")).startswith(
        "Funds secured $200.00 is held by Onsite for this work · Verified firm")


def test_routing_page_shows_the_funds_and_what_is_missing(app, ctx, client, auth, funds_required):
    owner, job = draft_work(budget=20000)
    tech = tech_at(*DALLAS)
    fund(owner.firm.id, 5000)
    auth.login(owner.email)
    page = client.get(f"/assignments/{job.id}/route").get_data(as_text=True)
    line = squash(text(page, "funds-line"))
    assert "Your funds: $50.00 free to secure new work" in line
    assert "You need $150.00 more to secure this work: top up your funds or ask Onsite for " \
           "payment terms." in line
    r = client.post(f"/assignments/{job.id}/route", data={
        "mode": "first_to_accept", "offer_ttl_hours": "24", "standby_size": "5",
        "cancellation_cutoff_hours": "24", "cancellation_fee": "0",
        "target_1": "technicians", "after_1": "0", "emails_1": tech.user.email,
        "target_2": "", "target_3": ""})
    body = r.get_data(as_text=True)
    assert r.status_code == 200, body[:500]
    assert "You need $150.00 more" in squash(text(body))
    db.session.refresh(job)
    assert job.status.value == "draft"


def test_both_sides_see_when_silent_work_is_approved(app, ctx, client, auth):
    owner, tech, job = taken()
    settings.update_settings(owner, owner.firm.id, auto_approve_days="4", payment_terms_days="0")
    db.session.commit()
    submitted(tech, job)
    for user in (owner, tech.user):
        auth.login(user.email)
        page = client.get(f"/work/{job.id}").get_data(as_text=True)
        assert "Approved automatically on Fri Jun 7" in squash(text(page, "auto-approval")), user
        auth.logout()
