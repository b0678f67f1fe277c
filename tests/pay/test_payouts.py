"""Payouts exactly once: whatever crashes or times out, one Stripe transfer per payable."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus
from marketplace.pay import transfers
from marketplace.pay.payables import Payable, PayableStatus
from marketplace.pay.payout_models import IntentStatus
from tests.pay.payout_helpers import (Crash, approved, balanced, intent_of, tech_balances,
                                      transfers_at_stripe)


@pytest.fixture
def manual(pay_app):
    """Payouts run when the test says (no run right after the approval's commit)."""
    pay_app.config["PAYOUTS_AFTER_COMMIT"] = False
    yield pay_app
    pay_app.config["PAYOUTS_AFTER_COMMIT"] = True


def test_approval_with_immediate_terms_transfers_once_right_after_commit(pay_app, stripe_sandbox,
                                                                       ctx):
    owner, tech, job, account = approved(stripe_sandbox, terms=0)
    intent = intent_of(job.id)
    assert intent.status == IntentStatus.SENT and intent.transfer_id
    sent = transfers_at_stripe(stripe_sandbox, job.id)
    assert [(t["id"], t["amount"], t["destination"]) for t in sent] == \
        [(intent.transfer_id, intent.amount_cents, account)]
    payable = db.session.query(Payable).filter_by(assignment_id=job.id).one()
    assert payable.status == PayableStatus.PAID and intent.amount_cents == payable.amount_cents
    assert db.session.get(type(job), job.id).status == AssignmentStatus.PAID
    assert tech_balances(tech.id) == (0, payable.amount_cents, 0)
    # The sweep finds nothing more to do.
    assert transfers.run().sent == 0 and len(transfers_at_stripe(stripe_sandbox)) == 1
    assert balanced()


@pytest.mark.parametrize("later", [timedelta(minutes=6), timedelta(hours=25)],
                         ids=["within-the-key-window", "after-stripe-forgot-the-key"])
def test_crash_between_the_stripe_call_and_the_commit_then_recovery_pays_once(
        manual, stripe_sandbox, ctx, monkeypatch, later):
    owner, tech, job, account = approved(stripe_sandbox, terms=0)

    def crash(*_args, **_kwargs):
        raise Crash()
    monkeypatch.setattr(transfers, "record_transfer", crash)
    with pytest.raises(Crash):
        transfers.run()
    db.session.rollback()
    monkeypatch.undo()
    intent = intent_of(job.id)
    assert intent.status == IntentStatus.PENDING and intent.transfer_id is None
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1   # Stripe made it
    key = intent.key

    clock.advance(timedelta(minutes=1))
    assert transfers.run().sent == 0       # still leased to the run that died
    clock.advance(later)
    assert transfers.run().sent == 1       # recovery
    intent = intent_of(job.id)
    made = transfers_at_stripe(stripe_sandbox, job.id)
    assert len(made) == 1 and intent.transfer_id == made[0]["id"]
    assert intent.status == IntentStatus.SENT and intent.key == key and intent.retries == 0
    assert tech_balances(tech.id)[1] == intent.amount_cents
    assert balanced()


def test_a_lost_answer_is_retried_with_the_same_key(manual, stripe_sandbox, ctx):
    owner, tech, job, _ = approved(stripe_sandbox, terms=0)
    stripe_sandbox.fail_next("POST /v1/transfers", kind="lost_response", times=3)
    result = transfers.run()
    assert result.retry == 1 and result.sent == 0
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1
    intent = intent_of(job.id)
    assert intent.status == IntentStatus.PENDING and intent.attempts == 1
    clock.advance(timedelta(minutes=2))
    assert transfers.run().sent == 1
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1
    assert intent_of(job.id).transfer_id == transfers_at_stripe(stripe_sandbox, job.id)[0]["id"]
    assert balanced()


def test_a_refused_transfer_fails_visibly_and_an_admin_retry_pays_once(manual, stripe_sandbox,
                                                                      ctx):
    from tests import factories
    owner, tech, job, _ = approved(stripe_sandbox, terms=0)
    stripe_sandbox.fail_next("POST /v1/transfers", kind="insufficient_balance")
    assert transfers.run().failed == 1
    intent = intent_of(job.id)
    assert intent.status == IntentStatus.FAILED and "not enough money" in intent.last_error
    assert db.session.query(Payable).filter_by(assignment_id=job.id).one().status == \
        PayableStatus.FAILED
    transfers.retry(intent.id, factories.admin())
    db.session.commit()
    assert transfers.run().sent == 1
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1
    assert intent_of(job.id).status == IntentStatus.SENT and balanced()


def test_a_technician_without_a_payout_account_waits_and_nothing_is_sent(manual, stripe_sandbox,
                                                                        ctx):
    owner, tech, job, _ = approved(stripe_sandbox, terms=0, with_account=False)
    assert transfers.run().opened == 0
    assert transfers_at_stripe(stripe_sandbox) == []
    assert db.session.query(Payable).filter_by(assignment_id=job.id).one().status == \
        PayableStatus.PENDING
    assert balanced()


def test_payment_terms_hold_the_transfer_until_its_due_day(manual, stripe_sandbox, ctx):
    owner, tech, job, _ = approved(stripe_sandbox, terms=7)
    payable = db.session.query(Payable).filter_by(assignment_id=job.id).one()
    assert payable.due_on == clock.today() + timedelta(days=7)
    clock.advance(timedelta(days=6))
    assert transfers.run().opened == 0
    clock.advance(timedelta(days=1))
    assert transfers.run().sent == 1
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1
