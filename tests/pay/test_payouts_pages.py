"""The finance desk, earnings and spend pages and their CSV exports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.money import format_money
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.pay import exports
from marketplace.pay.payables import Payable
from marketplace.pay.payout_models import IntentStatus
from tests import factories, pages
from tests.pay.payout_helpers import approved, intent_of


def _login(client, user):
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("text, start, end", [
    ("2026", "2026-01-01", "2027-01-01"), ("2026-12", "2026-12-01", "2027-01-01"),
    ("2026-02", "2026-02-01", "2026-03-01"), ("2026-Q4", "2026-10-01", "2027-01-01"),
    ("2026-Q1", "2026-01-01", "2026-04-01")])
def test_periods(ctx, text, start, end):
    got = exports.parse_period(text)
    assert (got[0].isoformat(), got[1].isoformat(), got[2]) == (start, end, text)


@pytest.mark.parametrize("text", ["2026-13", "26", "2026-Q5", "=1+1", "1999"])
def test_bad_periods_are_refused(ctx, text):
    with pytest.raises(ValidationFailed):
        exports.parse_period(text)


def test_csv_exports_neutralise_formulas_and_add_up(pay_app, stripe_sandbox, ctx, client):
    def rename(_owner, job):
        job.title = '=HYPERLINK("http://evil.example")'
        db.session.commit()
    owner, tech, job, _ = approved(stripe_sandbox, terms=0, before_approval=rename)
    period = intent_of(job.id).sent_at.strftime("%Y-%m")
    _login(client, owner)
    spend = _rows(client.get(f"/pay/spend.csv?period={period}").get_data(as_text=True))
    assert spend[0] == exports.SPEND_HEADER
    assert spend[1][3].startswith("'=HYPERLINK") and spend[1][7] == "200.00"
    assert spend[-1][0] == "Total" and spend[-1][7] == "200.00"
    assert client.get("/pay/earnings.csv").status_code == 403
    _login(client, tech.user)
    earned = _rows(client.get(f"/pay/earnings.csv?period={period}").get_data(as_text=True))
    assert earned[1][3].startswith("'=") and earned[1][7:9] == ["20.00", "180.00"]
    assert earned[1][11] == "sent" and earned[1][12] == intent_of(job.id).transfer_id
    assert client.get("/pay/earnings.csv?period=nope").status_code == 422


def test_finance_desk_shows_the_trial_balance_and_failed_payouts_with_retry(
        pay_app, stripe_sandbox, ctx, client):
    pay_app.config["PAYOUTS_AFTER_COMMIT"] = False
    try:
        stripe_sandbox.fail_next("POST /v1/transfers", kind="insufficient_balance")
        owner, tech, job, _ = approved(stripe_sandbox, terms=0)
        from marketplace.pay import transfers
        transfers.run()
        admin = factories.admin()
        db.session.commit()
        _login(client, admin)
        page = client.get("/pay/finance").get_data(as_text=True)
        assert "USD: <strong>$0.00</strong>" in page and "balanced" in page
        assert job.title in page and "not enough money" in page
        intent = intent_of(job.id)
        response = client.post(f"/pay/finance/payouts/{intent.id}/retry")
        assert response.status_code == 302
        assert intent_of(job.id).status == IntentStatus.PENDING
        transfers.run()
        assert intent_of(job.id).status == IntentStatus.SENT
        _login(client, owner)
        assert client.get("/pay/finance").status_code == 403
        assert client.post(f"/pay/finance/payouts/{intent.id}/retry").status_code == 403
    finally:
        pay_app.config["PAYOUTS_AFTER_COMMIT"] = True


def test_earnings_and_the_firm_dashboard_panel(pay_app, stripe_sandbox, ctx, client):
    owner, tech, job, _ = approved(stripe_sandbox, terms=7)
    _login(client, tech.user)
    page = client.get("/pay/earnings").get_data(as_text=True)
    assert "Coming up" in page and format_money(18000) in page
    due = db.session.scalar(select(Payable.due_on).where(Payable.assignment_id == job.id))
    assert due.strftime("%a %b %-d, %Y") in pages.text(page, "upcoming")
    card = pages.text(page, "instant-card")       # nothing has reached the Stripe account
    assert "Get paid now" not in card and "nothing is there yet" in card
    _login(client, owner)
    dashboard = client.get("/firm").get_data(as_text=True)
    assert 'id="spend-panel"' in dashboard and "$200.00</strong> invoiced this month" in dashboard


def test_due_pay_waiting_for_payout_setup_says_so_and_where_to_set_it_up(
        pay_app, stripe_sandbox, ctx, client):
    """A payable due without a payout account is not shown as "paid on" a past date."""
    owner, tech, job, _ = approved(stripe_sandbox, terms=0, with_account=False)
    clock.travel_to(clock.now() + timedelta(days=3))
    _login(client, tech.user)
    page = client.get("/pay/earnings").get_data(as_text=True)
    due = db.session.scalar(select(Payable.due_on).where(Payable.assignment_id == job.id))
    line = pages.text(page, "upcoming")
    assert f"Due since {due.strftime('%a %b %-d')}: set up payouts to receive it" in line
    assert pages.links(page, "upcoming")["set up payouts"] == "/pay/payout-setup"
    card = pages.text(page, "instant-card")
    assert "Set up payouts to be paid" in card and "Get paid now" not in card
