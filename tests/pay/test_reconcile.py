"""Reconciliation lists every difference between our books and Stripe's balance transactions."""
from __future__ import annotations

from sqlalchemy import update

from marketplace.extensions import db
from marketplace.integrations import payments
from marketplace.pay.payout_models import PayoutIntent
from marketplace.pay.reconcile import reconcile
from tests.pay.payout_helpers import approved, intent_of


def test_matching_books_then_each_kind_of_difference_is_listed(pay_app, stripe_sandbox, ctx):
    _, _, first, account = approved(stripe_sandbox, terms=0)
    _, _, second, _ = approved(stripe_sandbox, terms=0)
    report = reconcile()
    assert report.matched == 2
    # The sandbox's platform funding is no top-up of ours: listed, and nothing else is.
    assert [(d.kind, d.ledger_cents) for d in report.differences] == [("charge", 0)]

    payments.gateway().create_transfer(amount_cents=500, currency="USD", destination=account,
                                       transfer_group="assignment:999999", key="stray-transfer",
                                       metadata={})
    db.session.execute(update(PayoutIntent).where(PayoutIntent.assignment_id == second.id)
                       .values(amount_cents=PayoutIntent.amount_cents + 1))
    db.session.commit()
    notes = {(d.kind, d.note.split(" (")[0]) for d in reconcile().differences}
    assert ("transfer", "a transfer at Stripe that no payout intent records") in notes
    assert ("transfer", "amounts differ") in notes
    assert intent_of(first.id).transfer_id


def test_the_command_prints_the_differences_and_fails(pay_app, stripe_sandbox, ctx):
    approved(stripe_sandbox, terms=0)
    result = pay_app.test_cli_runner().invoke(args=["pay", "reconcile"])
    assert result.exit_code == 1
    assert "charge total: ours $0.00, Stripe $100,000.00: charge totals differ" in result.output
    assert "reconciled" in result.output and "1 transfers matched" in result.output
