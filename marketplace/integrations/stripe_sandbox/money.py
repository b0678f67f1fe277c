"""Payment intents, charges, refunds and disputes on the platform account."""
from __future__ import annotations

from typing import Any

from . import pricing
from .store import PLATFORM, ApiError, new_id, now

# Stripe's test PaymentMethods: cards decline at once; bank accounts fail after processing.
CARDS = {
    "pm_card_visa": None, "pm_card_mastercard": None, "pm_card_bypassPending": None,
    "pm_card_visa_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": ("insufficient_funds",
                                                "Your card has insufficient funds."),
    "pm_card_visa_chargeDeclinedInsufficientFunds": ("insufficient_funds",
                                                     "Your card has insufficient funds."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "Your card has expired."),
}
BANKS = {
    "pm_usBankAccount_success": None,
    "pm_usBankAccount_accountClosed": ("account_closed",
                                       "The customer's bank account has been closed."),
    "pm_usBankAccount_noAccount": ("no_account", "The customer's bank account could not be "
                                                 "located."),
    "pm_usBankAccount_insufficientFunds": (
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment."),
    "pm_usBankAccount_debitNotAuthorized": (
        "debit_not_authorized", "The customer has notified their bank that this payment "
                                "was unauthorized."),
    "pm_usBankAccount_invalidAccountNumber": ("invalid_account_number",
                                              "The customer's bank account number is invalid."),
}
MINIMUM = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50}


def _amount(params: dict, name: str = "amount", *, required: bool = True) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise ApiError.invalid(name, f"Missing required param: {name}.", "parameter_missing")
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError.invalid(name, f"Invalid integer: {raw}") from None
    if value <= 0:
        raise ApiError.invalid(name, "This value must be greater than or equal to 1.")
    return value


def _currency(params: dict) -> str:
    currency = str(params.get("currency") or "").lower()
    if len(currency) != 3:
        raise ApiError.invalid("currency", "Missing required param: currency.",
                               "parameter_missing")
    return currency


def create_payment_intent(sb, call) -> tuple[int, dict]:
    p = call.params
    amount, currency = _amount(p), _currency(p)
    if amount < MINIMUM.get(currency, 50):
        raise ApiError.invalid("amount", f"Amount must be at least "
                               f"{MINIMUM.get(currency, 50)} cents", "amount_too_small")
    types = p.get("payment_method_types") or ["card"]
    method = p.get("payment_method")
    kind = "us_bank_account" if method in BANKS else "card" if method in CARDS else None
    if method and kind is None:
        raise ApiError(400, "invalid_request_error", f"No such PaymentMethod: '{method}'",
                       code="resource_missing", param="payment_method")
    if kind and kind not in types:
        raise ApiError.invalid("payment_method", f"The PaymentMethod provided ({kind}) is "
                               "not allowed for this PaymentIntent.",
                               "payment_intent_incompatible_payment_method")
    pi = sb.store.add({
        "id": new_id("pi"), "object": "payment_intent", "amount": amount,
        "amount_received": 0, "currency": currency, "created": now(), "livemode": False,
        "metadata": p.get("metadata") or {}, "payment_method": method,
        "payment_method_types": types, "status": "requires_payment_method" if not method
        else "requires_confirmation", "last_payment_error": None, "latest_charge": None,
        "description": p.get("description"), "cancellation_reason": None,
    }, kind=kind)
    sb.emit("payment_intent.created", pi, call=call)
    if method and str(p.get("confirm")).lower() == "true":
        if kind == "us_bank_account" and not p.get("mandate_data"):
            raise ApiError.invalid("mandate_data", "A mandate is required to confirm a "
                                   "us_bank_account PaymentIntent.")
        return _confirm(sb, call, pi, kind)
    return 200, pi


def _confirm(sb, call, pi: dict, kind: str) -> tuple[int, dict]:
    if kind == "card":
        decline = CARDS[pi["payment_method"]]
        if call.fault == "decline":
            decline = ("generic_decline", "Your card was declined.")
        if decline:
            charge = _charge(sb, pi, status="failed", failure=decline)
            error = {"code": "card_declined", "decline_code": decline[0],
                     "message": decline[1], "type": "card_error", "charge": charge["id"],
                     "payment_method": {"id": pi["payment_method"], "type": "card"}}
            pi.update(status="requires_payment_method", last_payment_error=error,
                      latest_charge=charge["id"])
            sb.emit("charge.failed", charge, call=call)
            sb.emit("payment_intent.payment_failed", pi, call=call)
            raise ApiError(402, "card_error", decline[1], code="card_declined",
                           decline_code=decline[0], charge=charge["id"],
                           payment_intent=dict(pi))
        _succeed(sb, call, pi, kind)
        return 200, pi
    pi["status"] = "processing"
    charge = _charge(sb, pi, status="pending")
    pi["latest_charge"] = charge["id"]
    sb.emit("charge.pending", charge, call=call)
    sb.emit("payment_intent.processing", pi, call=call)
    return 200, pi


def _charge(sb, pi: dict, *, status: str, failure: tuple[str, str] | None = None) -> dict:
    return sb.store.add({
        "id": new_id("ch"), "object": "charge", "amount": pi["amount"], "amount_refunded": 0,
        "currency": pi["currency"], "created": now(), "livemode": False,
        "payment_intent": pi["id"], "paid": status == "succeeded", "refunded": False,
        "status": status, "disputed": False, "balance_transaction": None,
        "failure_code": failure[0] if failure else None,
        "failure_message": failure[1] if failure else None, "metadata": pi["metadata"],
    })


def _succeed(sb, call, pi: dict, kind: str) -> None:
    fee = pricing.card_fee(pi["amount"]) if kind == "card" else pricing.ach_fee(pi["amount"])
    charge = (sb.store.objects[pi["latest_charge"]] if pi["latest_charge"]
              else _charge(sb, pi, status="succeeded"))
    txn = sb.store.book(PLATFORM, amount=pi["amount"], fee=fee, currency=pi["currency"],
                        type_="charge", source=charge["id"])
    charge.update(status="succeeded", paid=True, balance_transaction=txn["id"])
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"],
              last_payment_error=None)
    sb.emit("charge.succeeded", charge, call=call)
    sb.emit("payment_intent.succeeded", pi, call=call)


def settle(sb, pi_id: str, *, fail_code: str | None = None) -> dict:
    """A bank debit leaves `processing`: succeeds, or fails as its test account says."""
    pi = sb.store.get("payment_intent", pi_id)
    if pi["status"] != "processing":
        raise ApiError.invalid("payment_intent", f"PaymentIntent {pi_id} is {pi['status']}, "
                               "not processing.", "payment_intent_unexpected_state")
    failure = BANKS.get(pi["payment_method"])
    if fail_code:
        failure = next((f for f in BANKS.values() if f and f[0] == fail_code),
                       (fail_code, "The payment failed."))
    if failure is None:
        _succeed(sb, None, pi, "us_bank_account")
        return pi
    charge = sb.store.objects[pi["latest_charge"]]
    charge.update(status="failed", failure_code=failure[0], failure_message=failure[1])
    pi.update(status="requires_payment_method", last_payment_error={
        "code": failure[0], "message": failure[1], "type": "invalid_request_error",
        "payment_method": {"id": pi["payment_method"], "type": "us_bank_account"}})
    sb.emit("charge.failed", charge)
    sb.emit("payment_intent.payment_failed", pi)
    return pi


def refund(sb, call) -> tuple[int, dict]:
    p = call.params
    pi = sb.store.get("payment_intent", str(p.get("payment_intent") or p.get("charge") or ""))
    if pi["status"] != "succeeded":
        raise ApiError.invalid("payment_intent", "This PaymentIntent does not have a "
                               "successful charge to refund.", "charge_not_refundable")
    charge = sb.store.objects[pi["latest_charge"]]
    left = charge["amount"] - charge["amount_refunded"]
    amount = _amount(p, required=False) or left
    if amount > left:
        raise ApiError.invalid("amount", f"Refund amount ({amount}) is greater than unrefunded "
                               f"amount on charge ({left})", "amount_too_large")
    refund_ = sb.store.add({
        "id": new_id("re"), "object": "refund", "amount": amount, "currency": pi["currency"],
        "charge": charge["id"], "payment_intent": pi["id"], "created": now(),
        "status": "succeeded", "metadata": p.get("metadata") or {}, "balance_transaction": None})
    txn = sb.store.book(PLATFORM, amount=-amount, fee=0, currency=pi["currency"],
                        type_="refund", source=refund_["id"])
    refund_["balance_transaction"] = txn["id"]
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    sb.emit("charge.refunded", charge, call=call)
    return 200, refund_


def dispute(sb, pi_id: str, *, reason: str = "fraudulent") -> dict:
    """The cardholder disputes a charge: its amount and the dispute fee are withdrawn."""
    pi = sb.store.get("payment_intent", pi_id)
    charge = sb.store.objects[pi["latest_charge"]]
    found = sb.store.add({
        "id": new_id("dp"), "object": "dispute", "amount": charge["amount"],
        "currency": charge["currency"], "charge": charge["id"], "payment_intent": pi["id"],
        "created": now(), "reason": reason, "status": "needs_response", "livemode": False})
    sb.store.book(PLATFORM, amount=-charge["amount"], fee=pricing.DISPUTE_FEE,
                  currency=charge["currency"], type_="adjustment", source=found["id"])
    charge["disputed"] = True
    sb.emit("charge.dispute.created", found)
    return found


def close_dispute(sb, dispute_id: str, *, won: bool) -> dict:
    found = sb.store.get("dispute", dispute_id)
    found["status"] = "won" if won else "lost"
    if won:
        sb.store.book(PLATFORM, amount=found["amount"], fee=0, currency=found["currency"],
                      type_="adjustment", source=found["id"])
    sb.emit("charge.dispute.closed", found)
    return found


def fund_platform(sb, amount: int, currency: str = "usd") -> None:
    """What Stripe's test card 4000 0000 0000 0077 does: funds straight to available."""
    sb.store.book(PLATFORM, amount=amount, fee=0, currency=currency, type_="charge",
                  source=None, description="Sandbox test funds")
