"""One suite of expectations for the payments adapter, run against the sandbox and, when
STRIPE_TEST_SECRET_KEY is set, against Stripe's test mode: the sandbox cannot drift from
Stripe without a test here saying so. Expectations that need an onboarded connected
account use STRIPE_TEST_CONNECTED_ACCOUNT in test mode (onboarding is a person's job)."""
from __future__ import annotations

import os
import uuid

import pytest

from marketplace.errors import CardDeclined, InsufficientFunds, PaymentConflict
from marketplace.integrations.payments import Gateway
from tests.pay.conftest import WEBHOOK_SECRET


class Contract:
    def __init__(self, gateway: Gateway, sandbox=None):
        self.gw, self.sandbox = gateway, sandbox

    @staticmethod
    def key(name: str) -> str:
        return f"contract:{name}:{uuid.uuid4().hex}"

    def fund_platform(self, amount_cents: int) -> None:
        """Money in the platform's available balance (Stripe: the bypass-pending test card)."""
        if self.sandbox is not None:
            self.sandbox.fund_platform(amount_cents)
        else:
            self.gw.create_payment_intent(amount_cents=amount_cents, currency="USD",
                                          method="card", payment_method="pm_card_bypassPending",
                                          key=self.key("fund"), metadata={})

    def onboarded_account(self) -> str:
        if self.sandbox is None:
            account = os.environ.get("STRIPE_TEST_CONNECTED_ACCOUNT")
            if not account:
                pytest.skip("needs STRIPE_TEST_CONNECTED_ACCOUNT (an onboarded test account)")
            return account
        account = self.gw.create_connected_account(email="c@contract.example", ref="contract",
                                                   key=self.key("acct"))
        self.sandbox.complete_onboarding(account)
        return account


@pytest.fixture(params=["sandbox", "stripe"])
def contract(request, stripe_sandbox_server):
    if request.param == "stripe":
        key = os.environ.get("STRIPE_TEST_SECRET_KEY")
        if not key:
            reason = "STRIPE_TEST_SECRET_KEY is not set: the contract ran against the sandbox only"
            print(f"\n{reason}")
            pytest.skip(reason)
        yield Contract(Gateway(api_key=key, api_base=None, webhook_secrets=[], timeout=30))
        return
    sandbox = stripe_sandbox_server.sandbox
    sandbox.reset()
    yield Contract(Gateway(api_key="sk_test_contract", api_base=stripe_sandbox_server.url,
                           webhook_secrets=[WEBHOOK_SECRET], timeout=5), sandbox)
    sandbox.reset()


def _card(c: Contract, key: str, amount: int = 2_000, payment_method: str = "pm_card_visa"):
    return c.gw.create_payment_intent(amount_cents=amount, currency="USD", method="card",
                                      payment_method=payment_method, key=key,
                                      metadata={"case": "contract"})


def test_a_repeated_key_returns_the_first_object(contract):
    key = contract.key("replay")
    first, again = _card(contract, key), _card(contract, key)
    assert first.id == again.id and first.status == again.status == "succeeded"


def test_a_key_reused_with_other_parameters_is_refused(contract):
    key = contract.key("mismatch")
    _card(contract, key)
    with pytest.raises(PaymentConflict, match="same parameters"):
        _card(contract, key, amount=2_500)


def test_a_declined_card_says_so(contract):
    with pytest.raises(CardDeclined, match="declined") as declined:
        _card(contract, contract.key("decline"), payment_method="pm_card_chargeDeclined")
    assert declined.value.code == "generic_decline"
    with pytest.raises(CardDeclined, match="insufficient funds"):
        _card(contract, contract.key("nsf"),
              payment_method="pm_card_chargeDeclinedInsufficientFunds")


def test_a_bank_debit_stays_processing(contract):
    state = contract.gw.create_payment_intent(
        amount_cents=5_000, currency="USD", method="us_bank_account",
        payment_method="pm_usBankAccount_success", key=contract.key("ach"), metadata={})
    assert state.status == "processing" and state.amount_cents == 5_000
    assert contract.gw.retrieve_payment_intent(state.id).status == "processing"


def test_a_new_connected_account_cannot_receive_payouts_until_onboarded(contract):
    account = contract.gw.create_connected_account(email="new@contract.example", ref="t:1",
                                                   key=contract.key("acct"))
    state = contract.gw.retrieve_account(account)
    assert account.startswith("acct_") and state.payouts_enabled is False
    assert "external_account" in state.requirements_due
    url = contract.gw.account_link(account, refresh_url="https://example.com/refresh",
                                   return_url="https://example.com/return",
                                   key=contract.key("link"))
    assert url.startswith("http") and url != contract.gw.account_link(
        account, refresh_url="https://example.com/refresh",
        return_url="https://example.com/return", key=contract.key("link"))


def test_transfers_are_listed_by_group_and_reversed(contract):
    account = contract.onboarded_account()
    contract.fund_platform(10_000)
    group = f"assignment:{uuid.uuid4().hex[:8]}"
    made = [contract.gw.create_transfer(amount_cents=1_000 + i, currency="USD",
                                        destination=account, transfer_group=group,
                                        key=contract.key("tr"), metadata={"i": i})
            for i in range(3)]
    listed = contract.gw.list_transfers(transfer_group=group)
    assert sorted(t.id for t in listed) == sorted(t.id for t in made)
    assert {t.transfer_group for t in listed} == {group}
    partly = contract.gw.reverse_transfer(made[0].id, amount_cents=400, key=contract.key("rv"))
    assert (partly.reversed, partly.amount_reversed_cents) == (False, 400)
    whole = contract.gw.reverse_transfer(made[0].id, amount_cents=600, key=contract.key("rv"))
    assert whole.reversed is True


def test_a_transfer_beyond_the_balance_is_insufficient_funds(contract):
    account = contract.onboarded_account()
    with pytest.raises(InsufficientFunds):
        contract.gw.create_transfer(amount_cents=9_000_000_00, currency="USD",
                                    destination=account, transfer_group="too-much",
                                    key=contract.key("tr"), metadata={})


def test_payouts_standard_free_and_instant_at_stripes_published_fee(contract):
    account = contract.onboarded_account()
    contract.fund_platform(20_000)
    contract.gw.create_transfer(amount_cents=20_000, currency="USD", destination=account,
                                transfer_group="payouts", key=contract.key("tr"), metadata={})
    standard = contract.gw.create_payout(account_id=account, amount_cents=5_000,
                                         currency="USD", method="standard",
                                         key=contract.key("po"))
    assert (standard.amount_cents, standard.fee_cents) == (5_000, 0)
    instant = contract.gw.create_payout(account_id=account, amount_cents=10_000,
                                        currency="USD", method="instant", key=contract.key("po"))
    assert instant.fee_cents == contract.gw.instant_payout_fee_cents(10_000) == 150
    assert instant.arrival_date <= standard.arrival_date
    available, _ = contract.gw.balance(account)["USD"]
    assert available == 20_000 - 5_000 - 10_000 - 150
    types = [t.type for t in contract.gw.balance_transactions(account_id=account)]
    assert types.count("payout") == 2


def test_the_balance_is_in_cents_by_currency(contract):
    _card(contract, contract.key("bal"), amount=10_000)
    available, pending = contract.gw.balance()["USD"]
    assert isinstance(available, int) and isinstance(pending, int)
    if contract.sandbox is not None:
        assert available == 10_000 - (290 + 30)     # 2.9% + 30 cents
