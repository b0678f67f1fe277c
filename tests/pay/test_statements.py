"""Invoices and payment statements: issued on approval, numbered in sequence, private."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.core.outbox import OutboxMessage
from marketplace.extensions import db
from marketplace.notifications.models import WebhookEndpoint
from marketplace.pay import statements
from marketplace.pay.payables import Payable
from marketplace.pay.payout_models import DocumentKind, PayDocument
from tests import factories
from tests.pay.payout_helpers import approved, intent_of


@pytest.fixture
def quiet_outbox(pay_app):
    pay_app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    yield pay_app
    pay_app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def _docs(kind):
    return db.session.scalars(select(PayDocument).where(PayDocument.kind == kind)
                              .order_by(PayDocument.id)).all()


def _login(client, user):
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def test_approval_issues_an_invoice_and_a_statement_numbered_in_sequence(quiet_outbox,
                                                                        stripe_sandbox, ctx):
    first = approved(stripe_sandbox, terms=0)
    second = approved(stripe_sandbox, terms=7)
    invoices, stmts = _docs(DocumentKind.INVOICE), _docs(DocumentKind.STATEMENT)
    year = invoices[0].issued_at.year
    assert [d.display_number for d in invoices] == [f"INV-{year}-000001", f"INV-{year}-000002"]
    assert [d.display_number for d in stmts] == [f"PS-{year}-000001", f"PS-{year}-000002"]
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == first[2].id))
    invoice, statement = invoices[0], stmts[0]
    assert invoice.total_cents == payable.gross_cents == statement.total_cents
    assert statement.net_cents == payable.amount_cents and statement.fee_cents == payable.fee_cents
    assert statement.payout_date == payable.due_on
    # Issuing again changes nothing: the same two documents, no new numbers.
    assert statements.issue_for(payable) == (invoice, statement)
    db.session.commit()
    assert len(_docs(DocumentKind.INVOICE)) == 2
    assert second[2].id == invoices[1].assignment_id


def _endpoint(firm_id: int, url: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(firm_id=firm_id, url=url, description="", secret="whsec_x",
                               event_types=["invoice.created", "payout.paid"], enabled=True)
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def test_webhooks_out_for_invoice_created_and_payout_paid(quiet_outbox, stripe_sandbox, ctx):
    stranger = _endpoint(factories.firm_user().firm.id, "https://hooks.example/other")
    ours = []

    def subscribe(owner, _job):
        ours.append(_endpoint(owner.firm.id, "https://hooks.example/ours"))
    _, tech, job, _ = approved(stripe_sandbox, terms=0, before_approval=subscribe)
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")
                              .order_by(OutboxMessage.id)).all()
    assert {r.payload["endpoint_id"] for r in rows} == {ours[0].id} != {stranger.id}
    by_type = {r.payload["type"]: r.payload["data"] for r in rows}
    invoice = _docs(DocumentKind.INVOICE)[0]
    assert by_type["invoice.created"]["number"] == invoice.display_number
    assert by_type["invoice.created"]["total_cents"] == invoice.total_cents
    intent = intent_of(job.id)
    assert by_type["payout.paid"] == {
        "assignment_id": job.id, "technician_id": tech.id, "amount_cents": intent.amount_cents,
        "currency": "USD", "transfer_id": intent.transfer_id,
        "paid_at": intent.sent_at.isoformat()}


def test_documents_are_printable_and_private(quiet_outbox, stripe_sandbox, ctx, client):
    owner, tech, job, _ = approved(stripe_sandbox, terms=0)
    other_owner, other_tech = factories.firm_user(), factories.technician()
    db.session.commit()
    invoice, statement = (_docs(DocumentKind.INVOICE)[0], _docs(DocumentKind.STATEMENT)[0])
    paid_on = intent_of(job.id).sent_at.strftime("%a %b %-d, %Y")
    _login(client, tech.user)
    page = client.get(f"/pay/documents/{statement.id}").get_data(as_text=True)
    assert statement.display_number in page and "Paid to you" in page
    assert re.search(rf"Paid on <strong>{paid_on}</strong>", page)
    assert client.get(f"/pay/documents/{invoice.id}").status_code == 404
    _login(client, owner)
    page = client.get(f"/pay/documents/{invoice.id}").get_data(as_text=True)
    assert invoice.display_number in page and "Total due" in page and "Platform fee" not in page
    assert client.get(f"/pay/documents/{statement.id}").status_code == 404
    for stranger in (other_owner, other_tech):
        _login(client, stranger)
        for doc in (invoice, statement):
            assert client.get(f"/pay/documents/{doc.id}").status_code == 404
