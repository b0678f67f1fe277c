"""An admin reverses a sent payout: one Stripe reversal, one ledger posting, audited, told."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.pay import ledger, payout_reversals
from marketplace.pay.payables import Payable, PayableStatus
from marketplace.pay.payout_models import IntentStatus
from tests import factories
from tests.pay.payout_helpers import approved, balanced, intent_of, tech_balances
from tests.pay.test_books_races import _race, _racers

REASON = "Paid for the wrong site visit"


def _login(client, user):
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def _reversals(sandbox) -> list[dict]:
    return sandbox.objects("transfer_reversal")


def _ledger_transactions() -> int:
    return db.session.scalar(select(func.count()).select_from(ledger.LedgerTransaction))


def _audited(action: Action, intent_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.subject_type == "payout_intents",
        AuditEntry.subject_id == intent_id)))


def _sent(sandbox, with_owner: bool = False):
    owner, tech, job, _ = approved(sandbox, terms=0)
    intent = intent_of(job.id)
    assert intent.status == IntentStatus.SENT
    sandbox.take_events()
    return (owner, tech, job, intent) if with_owner else (tech, job, intent)


def test_admin_reversal_posts_once_and_the_later_webhook_posts_nothing(
        pay_app, stripe_sandbox, ctx, client):
    tech, job, intent = _sent(stripe_sandbox)
    amount, admin = intent.amount_cents, factories.admin()
    db.session.commit()
    _login(client, admin)
    desk = client.get("/pay/finance").get_data(as_text=True)
    assert f"/pay/finance/payouts/{intent.id}/reverse" in desk
    form = client.get(f"/pay/finance/payouts/{intent.id}/reverse")
    assert form.status_code == 200 and "Reverse" in form.get_data(as_text=True)
    r = client.post(f"/pay/finance/payouts/{intent.id}/reverse", data={"reason": REASON})
    assert r.status_code == 302 and r.headers["Location"].endswith("/pay/finance")

    reversals = _reversals(stripe_sandbox)
    assert len(reversals) == 1 and reversals[0]["amount"] == amount
    assert stripe_sandbox.objects("transfer")[0]["reversed"] is True
    assert intent_of(job.id).status == IntentStatus.REVERSED
    assert intent_of(job.id).reversed_cents == amount
    assert tech_balances(tech.id) == (amount, 0, 0)
    assert db.session.scalar(select(Payable.status).where(Payable.assignment_id == job.id)) \
        == PayableStatus.REVERSED
    requested = _audited(Action.PAYOUT_REVERSAL_REQUESTED, intent.id)
    assert len(requested) == 1 and requested[0].actor_id == admin.id
    assert requested[0].after["reason"] == REASON
    done = _audited(Action.PAYOUT_REVERSED, intent.id)
    assert len(done) == 1 and done[0].actor_id == admin.id
    notes = db.session.scalars(select(Notification).where(
        Notification.user_id == tech.user.id, Notification.kind == "payout.reversed")).all()
    assert len(notes) == 1 and REASON in notes[0].body
    posted = _ledger_transactions()

    # Stripe's transfer.reversed for the same reversal, delivered late and twice.
    assert set(stripe_sandbox.deliver_events(client, order="reversed", times=2)) == {200}
    db.session.expire_all()
    assert _ledger_transactions() == posted
    assert tech_balances(tech.id) == (amount, 0, 0)
    assert len(_audited(Action.PAYOUT_REVERSED, intent.id)) == 1
    assert balanced()

    # A second reversal is refused and Stripe is not asked again.
    r = client.post(f"/pay/finance/payouts/{intent.id}/reverse", data={"reason": REASON},
                    follow_redirects=True)
    assert "already reversed" in r.get_data(as_text=True)
    assert len(_reversals(stripe_sandbox)) == 1
    assert _ledger_transactions() == posted


def test_a_reversal_needs_a_reason(pay_app, stripe_sandbox, ctx, client):
    _tech, job, intent = _sent(stripe_sandbox)
    _login(client, factories.admin())
    client.post(f"/pay/finance/payouts/{intent.id}/reverse", data={"reason": "  "})
    assert intent_of(job.id).status == IntentStatus.SENT
    assert _reversals(stripe_sandbox) == []


def test_only_admins_may_reverse(pay_app, stripe_sandbox, ctx, client):
    owner, tech, job, intent = _sent(stripe_sandbox, with_owner=True)
    for user in (tech.user, owner, factories.firm_user()):
        db.session.commit()
        _login(client, user)
        url = f"/pay/finance/payouts/{intent.id}/reverse"
        assert client.get(url).status_code == 403
        assert client.post(url, data={"reason": REASON}).status_code == 403
    assert intent_of(job.id).status == IntentStatus.SENT
    assert _reversals(stripe_sandbox) == []


def test_a_lost_answer_is_finished_by_the_sweep_with_one_reversal(
        pay_app, stripe_sandbox, ctx, client):
    tech, job, intent = _sent(stripe_sandbox)
    admin = factories.admin()
    stripe_sandbox.fail_next("POST /v1/transfers/*/reversals", kind="lost_response", times=3)
    payout_reversals.request_reversal(intent.id, admin, REASON)
    db.session.commit()          # the call after commit: every answer lost
    assert intent_of(job.id).status == IntentStatus.REVERSING
    assert len(_reversals(stripe_sandbox)) == 1      # Stripe made it once, under one key
    assert tech_balances(tech.id) == (0, intent.amount_cents, 0)
    assert payout_reversals.sweep() == 0             # its lease has not ended
    clock.advance(timedelta(minutes=6))
    assert payout_reversals.sweep() == 1
    assert len(_reversals(stripe_sandbox)) == 1
    assert intent_of(job.id).status == IntentStatus.REVERSED
    assert tech_balances(tech.id) == (intent.amount_cents, 0, 0)
    assert balanced()


def test_stripe_refusing_leaves_the_payout_sent_with_the_reason(
        pay_app, stripe_sandbox, ctx, client):
    tech, job, intent = _sent(stripe_sandbox)
    stripe_sandbox.fail_next("POST /v1/transfers/*/reversals", kind="insufficient_balance")
    payout_reversals.request_reversal(intent.id, factories.admin(), REASON)
    db.session.commit()
    after = intent_of(job.id)
    assert after.status == IntentStatus.SENT and after.reversed_cents == 0
    assert "enough" in (after.last_error or "")
    assert len(_audited(Action.PAYOUT_REVERSAL_FAILED, intent.id)) == 1
    assert tech_balances(tech.id) == (0, intent.amount_cents, 0)
    payout_reversals.request_reversal(intent.id, factories.admin(), REASON)  # may try again
    db.session.commit()
    assert intent_of(job.id).status == IntentStatus.REVERSED
    assert len(_reversals(stripe_sandbox)) == 1
    assert balanced()


def test_two_admins_racing_give_one_reversal(app, pay_app, stripe_sandbox, ctx):
    tech, job, intent = _sent(stripe_sandbox)
    admins = [factories.admin().id, factories.admin().id]
    db.session.commit()
    intent_id, amount = intent.id, intent.amount_cents
    racers = _racers(app)
    racers.config.update({k: app.config[k] for k in (
        "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY",
        "STRIPE_TIMEOUT_SECONDS", "STRIPE_SANDBOX_WEBHOOKS")})

    def reverse(i):
        from marketplace.accounts.models import User
        payout_reversals.request_reversal(intent_id, db.session.get(User, admins[i]), REASON)

    results = _race(racers, 2, reverse)
    assert sorted(r[:7] for r in results) == ["ok", "refused"], results
    db.session.expire_all()
    assert len(_reversals(stripe_sandbox)) == 1
    assert intent_of(job.id).status == IntentStatus.REVERSED
    assert tech_balances(tech.id) == (amount, 0, 0)
    assert len(_audited(Action.PAYOUT_REVERSAL_REQUESTED, intent_id)) == 1
    assert balanced()
