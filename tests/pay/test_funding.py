"""Firm funding through the pages: card and bank top-ups, pending then available, failures
told to the firm, net terms granted by admins (all through the SDK to the sandbox)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.audit import AuditEntry
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.pay import funding, ledger
from marketplace.pay.ledger import Kind
from marketplace.pay.rails_models import TopUp, TopUpStatus
from tests import factories


@pytest.fixture
def owner(ctx):
    user = factories.firm_user(Role.OWNER, email="owner@funds.example")
    db.session.commit()
    return user


def _top_up(client, auth, amount: str, payment_method: str):
    auth.login("owner@funds.example")
    response = client.post("/pay/funds", data={"amount": amount,
                                               "payment_method": payment_method})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client.get("/pay/funds").get_data(as_text=True)


def _funds(firm_id: int) -> tuple[int, int]:
    db.session.expire_all()
    return (ledger.balance_of(Kind.FIRM_AVAILABLE, firm_id),
            ledger.balance_of(Kind.FIRM_PENDING, firm_id))


def _topup() -> TopUp:
    db.session.expire_all()
    return db.session.scalars(select(TopUp)).one()


def test_card_top_up_is_available_at_once(stripe_sandbox, owner, client, auth):
    page = _top_up(client, auth, "500.00", "pm_card_visa")
    assert "$500.00" in page.split('id="funds-available"')[1][:200]
    assert _funds(owner.membership.firm_id) == (50_000, 0)
    topup = _topup()
    assert topup.status == TopUpStatus.SUCCEEDED and topup.payment_intent_id.startswith("pi_")
    [pi] = stripe_sandbox.objects("payment_intent")
    assert pi["id"] == topup.payment_intent_id and pi["amount"] == 50_000
    assert pi["metadata"] == {"topup_id": str(topup.id), "firm_id": str(topup.firm_id)}


def test_declined_card_moves_nothing_and_tells_the_firm_why(stripe_sandbox, owner, client,
                                                           auth):
    page = _top_up(client, auth, "250.00", "pm_card_chargeDeclined")
    assert "Your card was declined" in page and "Failed" in page
    assert _funds(owner.membership.firm_id) == (0, 0)
    assert _topup().status == TopUpStatus.FAILED
    page = _top_up(client, auth, "250.00", "pm_card_chargeDeclinedInsufficientFunds")
    assert "Your card was declined: the card has insufficient funds." in page


def test_bank_top_up_is_pending_until_it_settles_then_available(stripe_sandbox, owner,
                                                               client, auth):
    page = _top_up(client, auth, "1,200.00", "pm_usBankAccount_success")
    assert "$1,200.00" in page.split('id="funds-pending"')[1][:200]
    assert "the bank is processing it" in page
    firm_id = owner.membership.firm_id
    assert _funds(firm_id) == (0, 120_000)
    stripe_sandbox.settle(_topup().payment_intent_id)
    assert _funds(firm_id) == (0, 120_000)          # nothing until Stripe tells us
    assert set(stripe_sandbox.deliver_events(client)) == {200}
    assert _funds(firm_id) == (120_000, 0)
    page = client.get("/pay/funds").get_data(as_text=True)
    assert "$1,200.00" in page.split('id="funds-available"')[1][:200]


def test_bank_top_up_failing_after_processing_returns_the_pending_funds(stripe_sandbox, owner,
                                                                       client, auth):
    _top_up(client, auth, "300.00", "pm_usBankAccount_accountClosed")
    firm_id = owner.membership.firm_id
    assert _funds(firm_id) == (0, 30_000)
    stripe_sandbox.settle(_topup().payment_intent_id)
    stripe_sandbox.deliver_events(client)
    assert _funds(firm_id) == (0, 0)
    assert ledger.balance_of(Kind.PLATFORM_CLEARING, None) == 0
    page = client.get("/pay/funds").get_data(as_text=True)
    assert "Your bank returned the payment: the bank account is closed." in page
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "topup.failed"))


def test_top_up_waits_out_an_unavailable_payment_service(stripe_sandbox, owner, client, auth):
    stripe_sandbox.fail_next("POST /v1/payment_intents", "unavailable", times=3)
    page = _top_up(client, auth, "100.00", "pm_card_visa")
    assert "Starting" in page and _topup().status == TopUpStatus.REQUESTED
    from marketplace.core import outbox
    from marketplace.core.outbox import OutboxMessage
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=db.func.now()))
    db.session.commit()
    outbox.relay()
    assert _topup().status == TopUpStatus.SUCCEEDED
    assert len(stripe_sandbox.objects("payment_intent")) == 1


def test_only_owners_and_managers_add_funds_and_amounts_are_checked(stripe_sandbox, owner):
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.membership.firm)
    firm_id = owner.membership.firm_id
    with pytest.raises(PermissionDenied):
        funding.start_topup(dispatcher, firm_id, amount_cents=10_000, method="card",
                            payment_method="pm_card_visa")
    with pytest.raises(ValidationFailed):
        funding.start_topup(owner, firm_id, amount_cents=5, method="card",
                            payment_method="pm_card_visa")
    with pytest.raises(ValidationFailed):
        funding.start_topup(owner, firm_id, amount_cents=10_000, method="card",
                            payment_method="pm_usBankAccount_success")


def test_admin_grants_and_revokes_net_terms_with_audit(stripe_sandbox, owner, client, auth):
    factories.admin(email="admin@funds.example")
    db.session.commit()
    firm_id = owner.membership.firm_id
    auth.login("admin@funds.example")
    refused = client.post("/pay/admin/net-terms", data={"firm_id": firm_id, "days": 10,
                                                        "credit_limit": "5000"})
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
    saved = client.post("/pay/admin/net-terms", data={"firm_id": firm_id, "days": 30,
                                                      "credit_limit": "5,000.00"})
    assert saved.status_code == 303
    assert funding.terms_for(firm_id) == funding.Terms(30, 500_000, "USD")
    page = client.get("/pay/admin/net-terms").get_data(as_text=True)
    assert "Net 30" in page and "$5,000.00" in page
    assert client.post(f"/pay/admin/net-terms/{firm_id}/revoke").status_code == 303
    db.session.expire_all()
    assert funding.terms_for(firm_id) is None
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.firm_id == firm_id, AuditEntry.action.like("net_terms.%"))).all()
    assert sorted(actions) == ["net_terms.granted", "net_terms.revoked"]
    auth.logout()
    auth.login("owner@funds.example")
    assert client.post("/pay/admin/net-terms", data={"firm_id": firm_id, "days": 7,
                                                     "credit_limit": "1"}).status_code == 403


def test_the_firm_hears_when_a_bank_top_up_clears_or_is_returned(stripe_sandbox, owner, client,
                                                                 auth):
    from marketplace.notifications.models import Notification
    _top_up(client, auth, "300.00", "pm_usBankAccount_accountClosed")
    stripe_sandbox.settle(_topup().payment_intent_id)
    stripe_sandbox.deliver_events(client, times=2)
    [note] = db.session.scalars(select(Notification).where(
        Notification.user_id == owner.id)).all()
    assert note.title == "Bank top-up returned: $300.00"
    assert note.body == "Your bank returned the payment: the bank account is closed. " \
                        "The money was not added."
