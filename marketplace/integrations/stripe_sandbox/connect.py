"""Connected accounts, account links, transfers and their reversals, payouts."""
from __future__ import annotations

import copy
import secrets
from datetime import date, datetime, timedelta, timezone

from . import pricing
from .money import _amount, _currency
from .store import PLATFORM, ApiError, new_id, now

ONBOARDING_DUE = ["business_profile.url", "external_account", "individual.dob.day",
                  "individual.first_name", "individual.last_name", "individual.ssn_last_4",
                  "tos_acceptance.date", "tos_acceptance.ip"]
INSUFFICIENT = ("You have insufficient available funds in your Stripe account. Try adding "
                "funds directly to your available balance by creating Charges using the "
                "4000000000000077 test card. See: https://stripe.com/docs/testing"
                "#available-balance")


def create_account(sb, call) -> tuple[int, dict]:
    p = call.params
    controller = p.get("controller") or {}
    account = sb.store.add({
        "id": new_id("acct"), "object": "account", "type": "none" if controller else
        p.get("type", "express"), "country": p.get("country", "US"),
        "email": p.get("email"), "metadata": p.get("metadata") or {},
        "business_type": p.get("business_type"), "default_currency": "usd",
        "created": now(), "charges_enabled": False, "payouts_enabled": False,
        "details_submitted": False,
        "capabilities": {name: "inactive" for name in (p.get("capabilities") or {})},
        "controller": {**controller, "type": "application", "is_controller": True},
        "requirements": {"currently_due": list(ONBOARDING_DUE), "eventually_due":
                         list(ONBOARDING_DUE), "past_due": list(ONBOARDING_DUE),
                         "pending_verification": [], "disabled_reason":
                         "requirements.past_due", "errors": []},
        "external_accounts": {"object": "list", "data": [], "has_more": False,
                              "url": "/v1/accounts/external_accounts"},
    })
    return 200, account


def create_account_link(sb, call) -> tuple[int, dict]:
    p = call.params
    account = sb.store.get("account", str(p.get("account") or ""))
    for name in ("refresh_url", "return_url", "type"):
        if not p.get(name):
            raise ApiError.invalid(name, f"Missing required param: {name}.", "parameter_missing")
    token = secrets.token_urlsafe(18)
    expires = now() + 300
    sb.store.meta[f"link:{token}"] = {"account": account["id"], "refresh_url": p["refresh_url"],
                                      "return_url": p["return_url"], "expires_at": expires,
                                      "state": "new"}
    return 200, {"object": "account_link", "created": now(), "expires_at": expires,
                 "url": f"{call.base_url}/connect/onboarding/{token}"}


def complete_onboarding(sb, account_id: str, *, with_bank: bool = True) -> dict:
    """What the hosted onboarding form does once submitted: details in, payouts on."""
    account = sb.store.get("account", account_id)
    before = copy.deepcopy({k: account[k] for k in
                            ("payouts_enabled", "details_submitted", "requirements")})
    due = [] if with_bank else ["external_account"]
    account.update(details_submitted=True, charges_enabled=with_bank,
                   payouts_enabled=with_bank,
                   capabilities={k: "active" if with_bank else "inactive"
                                 for k in account["capabilities"] or {"transfers": 1}})
    account["requirements"].update(currently_due=due, eventually_due=due, past_due=due,
                                   disabled_reason=None if with_bank else
                                   "requirements.past_due")
    if with_bank and not account["external_accounts"]["data"]:
        account["external_accounts"]["data"].append({
            "id": new_id("ba"), "object": "bank_account", "bank_name": "STRIPE TEST BANK",
            "last4": "6789", "routing_number": "110000000", "currency": "usd",
            "country": "US", "status": "new", "account": account_id})
    sb.emit("account.updated", account, account=account_id, previous=before)
    return account


def restrict_account(sb, account_id: str, due: list[str]) -> dict:
    """Stripe asks for more information: payouts stop until it is given."""
    account = sb.store.get("account", account_id)
    before = copy.deepcopy({k: account[k] for k in ("payouts_enabled", "requirements")})
    account["payouts_enabled"] = False
    account["requirements"].update(currently_due=list(due), past_due=list(due),
                                   disabled_reason="requirements.past_due")
    sb.emit("account.updated", account, account=account_id, previous=before)
    return account


def create_transfer(sb, call) -> tuple[int, dict]:
    p = call.params
    amount, currency = _amount(p), _currency(p)
    destination = str(p.get("destination") or "")
    if destination not in sb.store.objects:
        raise ApiError(400, "invalid_request_error", f"No such destination: '{destination}'",
                       code="resource_missing", param="destination", saved=False)
    funds = sb.store.funds(PLATFORM, currency)
    if call.fault == "insufficient_balance" or funds["available"] < amount:
        raise ApiError(400, "invalid_request_error", INSUFFICIENT, code="balance_insufficient")
    transfer = sb.store.add({
        "id": new_id("tr"), "object": "transfer", "amount": amount, "amount_reversed": 0,
        "currency": currency, "destination": destination, "created": now(),
        "description": p.get("description"), "livemode": False,
        "metadata": p.get("metadata") or {}, "transfer_group": p.get("transfer_group"),
        "reversed": False, "source_transaction": None, "balance_transaction": None,
        "destination_payment": None,
        "reversals": {"object": "list", "data": [], "has_more": False, "url": ""},
    })
    transfer["reversals"]["url"] = f"/v1/transfers/{transfer['id']}/reversals"
    transfer["balance_transaction"] = sb.store.book(
        PLATFORM, amount=-amount, fee=0, currency=currency, type_="transfer",
        source=transfer["id"])["id"]
    payment = sb.store.book(destination, amount=amount, fee=0, currency=currency,
                            type_="payment", source=transfer["id"])
    transfer["destination_payment"] = payment["id"]
    sb.emit("transfer.created", transfer, call=call)
    return 200, transfer


def reverse_transfer(sb, call, transfer_id: str) -> tuple[int, dict]:
    transfer = sb.store.get("transfer", transfer_id)
    left = transfer["amount"] - transfer["amount_reversed"]
    amount = _amount(call.params, required=False) or left
    if amount > left:
        raise ApiError.invalid("amount", f"Reversal amount ({amount}) is greater than the "
                               f"amount left on the transfer ({left}).", "amount_too_large")
    if call.fault == "insufficient_balance":
        raise ApiError(400, "invalid_request_error", "The destination account does not have "
                       "enough available funds to reverse this transfer.",
                       code="balance_insufficient")
    reversal = sb.store.add({
        "id": new_id("trr"), "object": "transfer_reversal", "amount": amount,
        "currency": transfer["currency"], "transfer": transfer_id, "created": now(),
        "metadata": call.params.get("metadata") or {}, "balance_transaction": None})
    sb.store.book(transfer["destination"], amount=-amount, fee=0,
                  currency=transfer["currency"], type_="payment_refund", source=reversal["id"])
    reversal["balance_transaction"] = sb.store.book(
        PLATFORM, amount=amount, fee=0, currency=transfer["currency"], type_="transfer_refund",
        source=reversal["id"])["id"]
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, reversal)
    sb.emit("transfer.reversed", transfer, call=call)
    return 200, reversal


def _arrival(method: str) -> int:
    """Instant: today; standard: two business days later (midnight UTC, as Stripe gives it)."""
    day = datetime.now(timezone.utc).date()
    if method == "standard":
        added = 0
        while added < 2:
            day += timedelta(days=1)
            added += day.weekday() < 5
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def create_payout(sb, call) -> tuple[int, dict]:
    p = call.params
    if not call.account:
        raise ApiError.invalid("Stripe-Account", "Payouts to a connected account need the "
                               "Stripe-Account header.")
    account = sb.store.get("account", call.account)
    amount, currency = _amount(p), _currency(p)
    method = p.get("method", "standard")
    if method not in ("standard", "instant"):
        raise ApiError.invalid("method", f"Invalid method: must be one of standard or instant")
    if not account["payouts_enabled"]:
        raise ApiError(400, "invalid_request_error", "Payouts are not enabled for this "
                       "account: it has requirements due.", code="payouts_not_allowed")
    fee = pricing.instant_payout_fee(amount) if method == "instant" else 0
    funds = sb.store.funds(account["id"], currency)
    if call.fault == "insufficient_balance" or funds["available"] < amount + fee:
        raise ApiError(400, "invalid_request_error", "You have insufficient funds in your "
                       "Stripe account for this payout.", code="balance_insufficient")
    bank = (account["external_accounts"]["data"] or [{"id": None}])[0]["id"]
    payout = sb.store.add({
        "id": new_id("po"), "object": "payout", "amount": amount, "currency": currency,
        "arrival_date": _arrival(method), "method": method, "status": "pending",
        "type": "bank_account", "automatic": False, "destination": bank, "created": now(),
        "metadata": p.get("metadata") or {}, "failure_code": None, "failure_message": None,
        "balance_transaction": None, "livemode": False, "description": p.get("description"),
    }, account=account["id"])
    payout["balance_transaction"] = sb.store.book(
        account["id"], amount=-amount, fee=fee, currency=currency, type_="payout",
        source=payout["id"])["id"]
    sb.emit("payout.created", payout, account=account["id"], call=call)
    return 200, payout


def settle_payout(sb, payout_id: str, *, fail_code: str | None = None) -> dict:
    """The bank answers: paid, or failed with the money back on the account."""
    payout = sb.store.get("payout", payout_id)
    if payout["status"] not in ("pending", "in_transit"):
        raise ApiError.invalid("payout", f"Payout {payout_id} is {payout['status']}.")
    account = sb.store.meta[payout_id]["account"]
    if fail_code:
        payout.update(status="failed", failure_code=fail_code,
                      failure_message="The bank account has been closed."
                      if fail_code == "account_closed" else "The payout failed.")
        sb.store.book(account, amount=payout["amount"], fee=0, currency=payout["currency"],
                      type_="payout_failure", source=payout_id)
        sb.emit("payout.failed", payout, account=account)
    else:
        payout["status"] = "paid"
        sb.emit("payout.paid", payout, account=account)
    return payout


def payout_arrival_date(payout: dict) -> date:
    return datetime.fromtimestamp(payout["arrival_date"], timezone.utc).date()
