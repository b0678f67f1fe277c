"""Balances, statements, invoices and payouts over /api/v1, each reader seeing only theirs."""
from __future__ import annotations

import pytest

from marketplace.accounts import tokens
from marketplace.extensions import db
from marketplace.pay.payout_models import DocumentKind, PayDocument
from tests.pay.payout_helpers import approved, intent_of


def _headers(user) -> dict:
    raw = tokens.issue_api_token(user, "pay")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def paid(pay_app, stripe_sandbox, ctx):
    return approved(stripe_sandbox, terms=0)


def test_a_technician_reads_balances_statements_and_payouts(paid, client):
    owner, tech, job, _ = paid
    intent = intent_of(job.id)
    headers = _headers(tech.user)
    assert client.get("/api/v1/pay/balances", headers=headers).get_json() == {
        "currency": "USD", "payable_cents": 0, "in_transit_cents": intent.amount_cents,
        "paid_out_cents": 0}
    listing = client.get("/api/v1/pay/statements", headers=headers).get_json()
    [statement] = listing["data"]
    assert statement["kind"] == "statement" and statement["net_cents"] == intent.amount_cents
    assert client.get(f"/api/v1/pay/statements/{statement['id']}",
                      headers=headers).get_json()["number"] == statement["number"]
    [payout] = client.get("/api/v1/pay/payouts", headers=headers).get_json()["data"]
    assert (payout["status"], payout["transfer_id"]) == ("sent", intent.transfer_id)
    assert client.get(f"/api/v1/pay/payouts/{intent.id}", headers=headers).status_code == 200
    invoice = db.session.query(PayDocument).filter_by(kind=DocumentKind.INVOICE).one()
    assert client.get(f"/api/v1/pay/invoices/{invoice.id}", headers=headers).status_code == 403


def test_a_firm_reads_its_invoices_and_spend(paid, client):
    owner, tech, job, _ = paid
    headers = _headers(owner)
    [invoice] = client.get("/api/v1/pay/invoices", headers=headers).get_json()["data"]
    assert invoice["kind"] == "invoice" and "net_cents" not in invoice
    body = client.get("/api/v1/pay/balances", headers=headers).get_json()
    assert body["spent_cents"] == invoice["total_cents"]
    statement = db.session.query(PayDocument).filter_by(kind=DocumentKind.STATEMENT).one()
    assert client.get(f"/api/v1/pay/invoices/{statement.id}", headers=headers).status_code == 404


def test_an_instant_payout_over_the_api_uses_the_quote(paid, client, stripe_sandbox):
    owner, tech, job, _ = paid
    headers = _headers(tech.user)
    quote = client.get("/api/v1/pay/instant-payouts/quote", headers=headers).get_json()
    body = {"amount_cents": quote["amount_cents"], "fee_cents": quote["fee_cents"],
            "key": "api-instant-0000001"}
    first = client.post("/api/v1/pay/instant-payouts", headers=headers, json=body)
    again = client.post("/api/v1/pay/instant-payouts", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len([p for p in stripe_sandbox.objects("payout") if p["method"] == "instant"]) == 1
    stale = client.post("/api/v1/pay/instant-payouts", headers=headers,
                        json={**body, "key": "api-instant-0000002", "fee_cents": 1})
    assert stale.status_code == 409
