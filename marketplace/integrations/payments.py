"""The payments adapter: the one module that imports `stripe` (the official SDK).

Callers get `gateway()` for the current app, pass integer cents and an explicit
idempotency key on every POST, and get small frozen states back. Stripe's errors
become the project's PaymentError family. In development and tests, without a
STRIPE_API_BASE, the SDK talks to the bundled sandbox (integrations/stripe_sandbox)
started in this process: reached over HTTP through `base_addresses`, like Stripe.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterator

import stripe
from flask import current_app, has_request_context

from .. import errors

STRIPE_API = "https://api.stripe.com"
# Stripe's zero-decimal currencies; the project keeps every amount in cents.
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}
# Stripe's published fee for Instant Payouts (US): 1.5% of the payout, at least 50 cents.
INSTANT_FEE_BPS = 150
INSTANT_FEE_MINIMUM_CENTS = 50


def to_minor(amount_cents: int, currency: str) -> int:
    """Project cents to Stripe's minor units: the one place amounts are converted."""
    if currency.lower() in ZERO_DECIMAL:
        if amount_cents % 100:
            raise errors.ValidationFailed.field("amount", f"{currency.upper()} has no cents.")
        return amount_cents // 100
    return amount_cents


def from_minor(amount: int, currency: str) -> int:
    return amount * 100 if currency.lower() in ZERO_DECIMAL else amount


@dataclass(frozen=True)
class AccountState:
    id: str
    payouts_enabled: bool
    requirements_due: list[str]
    details_submitted: bool = False


@dataclass(frozen=True)
class PaymentIntentState:
    id: str
    status: str
    failure_message: str | None = None
    amount_cents: int = 0
    currency: str = "USD"
    failure_code: str | None = None


@dataclass(frozen=True)
class TransferState:
    id: str
    amount_cents: int
    currency: str
    destination: str
    transfer_group: str | None
    reversed: bool
    amount_reversed_cents: int = 0


@dataclass(frozen=True)
class PayoutState:
    id: str
    amount_cents: int
    fee_cents: int
    arrival_date: date
    status: str
    method: str = "standard"
    failure_message: str | None = None
    metadata: dict | None = None


@dataclass(frozen=True)
class RefundState:
    id: str
    status: str


@dataclass(frozen=True)
class BalanceTxState:
    id: str
    type: str
    amount_cents: int
    fee_cents: int
    currency: str
    source: str | None


def account_state(obj: Any) -> AccountState:
    requirements = getattr(obj, "requirements", None)
    due = list(getattr(requirements, "currently_due", None) or []) if requirements else []
    return AccountState(obj.id, bool(obj.payouts_enabled), due,
                        bool(getattr(obj, "details_submitted", False)))


def payment_intent_state(obj: Any) -> PaymentIntentState:
    error = getattr(obj, "last_payment_error", None)
    return PaymentIntentState(obj.id, obj.status, error.message if error else None,
                              from_minor(obj.amount, obj.currency), obj.currency.upper(),
                              getattr(error, "decline_code", None) or getattr(error, "code", None)
                              if error else None)


def transfer_state(obj: Any) -> TransferState:
    return TransferState(obj.id, from_minor(obj.amount, obj.currency), obj.currency.upper(),
                         obj.destination if isinstance(obj.destination, str)
                         else obj.destination.id, obj.transfer_group, bool(obj.reversed),
                         from_minor(obj.amount_reversed or 0, obj.currency))


def _arrival(stamp: int) -> date:
    return datetime.fromtimestamp(stamp, timezone.utc).date()


class Gateway:
    """Thin calls to Stripe; each POST takes the caller's idempotency key."""

    def __init__(self, *, api_key: str, api_base: str | None, webhook_secrets: list[str],
                 timeout: float = 30.0):
        addresses = {"api": api_base, "connect": api_base} if api_base else None
        self.client = stripe.StripeClient(
            api_key, base_addresses=addresses, max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=timeout))
        self.webhook_secrets = webhook_secrets
        self.api_base = api_base or STRIPE_API

    # Connect ---------------------------------------------------------------
    def create_connected_account(self, *, email: str, ref: str, key: str,
                                 country: str = "US") -> str:
        """Accounts v1 with controller properties: the platform owns losses and fees,
        Stripe collects requirements, the technician gets the Express dashboard."""
        account = self._call(self.client.v1.accounts.create, {
            "country": country, "email": email, "business_type": "individual",
            "controller": {"fees": {"payer": "application"},
                           "losses": {"payments": "application"},
                           "requirement_collection": "stripe",
                           "stripe_dashboard": {"type": "express"}},
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"ref": ref}}, key=key)
        return account.id

    def account_link(self, account_id: str, *, refresh_url: str, return_url: str,
                     key: str) -> str:
        link = self._call(self.client.v1.account_links.create, {
            "account": account_id, "refresh_url": refresh_url, "return_url": return_url,
            "type": "account_onboarding", "collect": "eventually_due"}, key=key)
        return link.url

    def retrieve_account(self, account_id: str) -> AccountState:
        return account_state(self._call(self.client.v1.accounts.retrieve, account_id))

    # Money in --------------------------------------------------------------
    def create_payment_intent(self, *, amount_cents: int, currency: str, method: str,
                              payment_method: str, key: str,
                              metadata: dict) -> PaymentIntentState:
        """Confirmed at once. A declined card raises CardDeclined; a bank debit comes
        back `processing` and settles days later (webhooks say how it ended)."""
        params: dict[str, Any] = {
            "amount": to_minor(amount_cents, currency), "currency": currency.lower(),
            "payment_method_types": [method], "payment_method": payment_method,
            "confirm": True, "metadata": {k: str(v) for k, v in metadata.items()}}
        if method == "us_bank_account":
            params["mandate_data"] = {"customer_acceptance": {"type": "offline"}}
        return payment_intent_state(
            self._call(self.client.v1.payment_intents.create, params, key=key))

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentState:
        return payment_intent_state(
            self._call(self.client.v1.payment_intents.retrieve, payment_intent_id))

    def refund(self, payment_intent_id: str, *, amount_cents: int, key: str,
               currency: str = "usd") -> RefundState:
        refund = self._call(self.client.v1.refunds.create, {
            "payment_intent": payment_intent_id,
            "amount": to_minor(amount_cents, currency)}, key=key)
        return RefundState(refund.id, refund.status)

    # Money out -------------------------------------------------------------
    def create_transfer(self, *, amount_cents: int, currency: str, destination: str,
                        transfer_group: str, key: str, metadata: dict) -> TransferState:
        return transfer_state(self._call(self.client.v1.transfers.create, {
            "amount": to_minor(amount_cents, currency), "currency": currency.lower(),
            "destination": destination, "transfer_group": transfer_group,
            "metadata": {k: str(v) for k, v in metadata.items()}}, key=key))

    def list_transfers(self, *, transfer_group: str) -> list[TransferState]:
        """Every transfer of the group, through all pages."""
        found, after = [], None
        while True:
            params: dict[str, Any] = {"transfer_group": transfer_group, "limit": 100}
            if after:
                params["starting_after"] = after
            page = self._call(self.client.v1.transfers.list, params)
            found += [transfer_state(t) for t in page.data]
            if not page.has_more or not page.data:
                return found
            after = page.data[-1].id

    def retrieve_transfer(self, transfer_id: str) -> TransferState:
        return transfer_state(self._call(self.client.v1.transfers.retrieve, transfer_id))

    def reverse_transfer(self, transfer_id: str, *, amount_cents: int | None = None,
                         key: str, currency: str = "usd",
                         metadata: dict | None = None) -> TransferState:
        """Pull money back from the connected account: `amount_cents`, or (None) all that
        is left on the transfer. Returns the transfer as it stands after the reversal."""
        params: dict[str, Any] = {"expand": ["transfer"]}
        if amount_cents is not None:
            params["amount"] = to_minor(amount_cents, currency)
        if metadata:
            params["metadata"] = {k: str(v) for k, v in metadata.items()}
        reversal = self._call(self.client.v1.transfers.reversals.create, transfer_id, params,
                              key=key)
        return transfer_state(reversal.transfer)

    def instant_payout_fee_cents(self, amount_cents: int, currency: str = "USD") -> int:
        """Stripe's published Instant Payouts fee, in this one place."""
        return max((amount_cents * INSTANT_FEE_BPS + 5000) // 10000, INSTANT_FEE_MINIMUM_CENTS)

    def create_payout(self, *, account_id: str, amount_cents: int, currency: str,
                      method: str, key: str, metadata: dict | None = None) -> PayoutState:
        params: dict[str, Any] = {"amount": to_minor(amount_cents, currency),
                                  "currency": currency.lower(), "method": method,
                                  "expand": ["balance_transaction"]}
        if metadata:
            params["metadata"] = {k: str(v) for k, v in metadata.items()}
        return self._payout_state(self._call(self.client.v1.payouts.create, params, key=key,
                                             account=account_id))

    def list_payouts(self, account_id: str, *, since: datetime | None = None,
                     limit: int = 500) -> list[PayoutState]:
        """The connected account's payouts, newest first (created at or after `since`)."""
        found, after = [], None
        while len(found) < limit:
            params: dict[str, Any] = {"limit": 100, "expand": ["data.balance_transaction"]}
            if since is not None:
                params["created"] = {"gte": int(since.timestamp())}
            if after:
                params["starting_after"] = after
            page = self._call(self.client.v1.payouts.list, params, account=account_id)
            found += [self._payout_state(p) for p in page.data]
            if not page.has_more or not page.data:
                break
            after = page.data[-1].id
        return found

    def _payout_state(self, payout: Any) -> PayoutState:
        txn, currency = payout.balance_transaction, payout.currency
        fee = from_minor(txn.fee, currency) if txn is not None and not isinstance(txn, str) \
            else (self.instant_payout_fee_cents(from_minor(payout.amount, currency))
                  if payout.method == "instant" else 0)
        return PayoutState(payout.id, from_minor(payout.amount, currency), fee,
                           _arrival(payout.arrival_date), payout.status, payout.method,
                           payout.failure_message,
                           payout.metadata.to_dict() if payout.metadata else {})

    # Balances --------------------------------------------------------------
    def balance(self, account_id: str | None = None) -> dict[str, tuple[int, int]]:
        """Currency -> (available, pending) cents, of the platform or a connected account."""
        result = self._call(self.client.v1.balance.retrieve, account=account_id)
        totals: dict[str, list[int]] = {}
        for name, slot in (("available", 0), ("pending", 1)):
            for entry in getattr(result, name) or []:
                row = totals.setdefault(entry.currency.upper(), [0, 0])
                row[slot] += from_minor(entry.amount, entry.currency)
        return {c: (v[0], v[1]) for c, v in totals.items()}

    def balance_transactions(self, *, account_id: str | None = None) -> Iterator[BalanceTxState]:
        after = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"starting_after": after} if after else {})}
            page = self._call(self.client.v1.balance_transactions.list, params,
                              account=account_id)
            for t in page.data:
                yield BalanceTxState(t.id, t.type, from_minor(t.amount, t.currency),
                                     from_minor(t.fee, t.currency), t.currency.upper(),
                                     t.source if isinstance(t.source, (str, type(None)))
                                     else t.source.id)
            if not page.has_more or not page.data:
                return
            after = page.data[-1].id

    # Webhooks --------------------------------------------------------------
    def construct_event(self, payload: bytes, sig_header: str | None) -> Any:
        """Verify the signature (300 s tolerance) with each configured endpoint secret."""
        if not sig_header or not self.webhook_secrets:
            raise errors.MalformedRequest("Missing Stripe-Signature header.")
        last: Exception | None = None
        for secret in self.webhook_secrets:
            try:
                return self.client.construct_event(payload, sig_header, secret, tolerance=300)
            except stripe.SignatureVerificationError as exc:
                last = exc
            except ValueError as exc:
                raise errors.MalformedRequest(f"The event is not valid JSON: {exc}") from None
        raise errors.MalformedRequest(f"The signature could not be verified: {last}")

    def ping(self) -> str:
        """A cheap authenticated read: 'ok' or why not (for /readyz)."""
        try:
            self.balance()
            return "ok"
        except errors.PaymentError as exc:
            return f"error: {exc.message}"

    # the one place Stripe's errors are translated ----------------------------
    def _call(self, method, *args: Any, key: str | None = None,
              account: str | None = None) -> Any:
        options: dict[str, Any] = {}
        if key:
            options["idempotency_key"] = key
        if account:
            options["stripe_account"] = account
        try:
            return method(*args, options=options)
        except stripe.CardError as exc:
            decline = getattr(exc.error, "decline_code", None) if exc.error else None
            raise errors.CardDeclined(_card_message(exc),
                                      code=decline or exc.code or "card_declined") from None
        except stripe.IdempotencyError as exc:
            raise errors.PaymentConflict(exc.user_message or str(exc)) from None
        except stripe.InvalidRequestError as exc:
            if exc.code == "balance_insufficient":
                raise errors.InsufficientFunds(
                    "There is not enough money in the payments balance for this.") from None
            raise errors.PaymentError(exc.user_message or str(exc),
                                      code=exc.code or "payment_rejected") from None
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise errors.PaymentServiceUnavailable(
                "The payment service did not answer. Nothing was charged twice; "
                "try again in a minute.") from exc
        except stripe.StripeError as exc:
            raise errors.PaymentError(exc.user_message or str(exc)) from None


def _card_message(exc: Any) -> str:
    decline = getattr(exc.error, "decline_code", None) if exc.error else None
    reasons = {"insufficient_funds": "The card was declined: it has insufficient funds.",
               "expired_card": "The card was declined: it has expired.",
               "lost_card": "The card was declined.", "stolen_card": "The card was declined."}
    return reasons.get(decline or exc.code or "", exc.user_message or "The card was declined.")


def api_base(app) -> str | None:
    """Where the SDK goes: STRIPE_API_BASE, else (development, tests) the embedded
    sandbox, else Stripe itself."""
    configured = app.config.get("STRIPE_API_BASE")
    if configured:
        return configured
    if not app.config.get("STRIPE_EMBEDDED_SANDBOX"):
        return None
    return embedded_sandbox(app).url


def embedded_sandbox(app):
    """The sandbox this process runs for the app (development and tests). Its events go
    to the app's endpoint over HTTP once the app serves requests; a command such as the
    demo seed hands them over in process (`embedded_sandbox(app).sandbox`)."""
    from .stripe_sandbox import embedded
    server = embedded(webhook_secret=_secrets(app)[0],
                      state_path=app.config.get("STRIPE_SANDBOX_STATE"))
    if app.config.get("STRIPE_SANDBOX_WEBHOOKS") == "http" and has_request_context() \
            and server.sandbox.deliverer is None:
        from flask import request
        server.sandbox.deliver_continuously(request.host_url.rstrip("/"))
    return server


def sandbox_dashboard(app) -> str | None:
    """Where the embedded sandbox's dashboard is (settle bank debits by hand), if any."""
    if app.config.get("STRIPE_API_BASE") or not app.config.get("STRIPE_EMBEDDED_SANDBOX"):
        return None
    return embedded_sandbox(app).url + "/_sandbox"


def hosted_pages_origin(app) -> str:
    """Where Stripe's hosted pages (Connect onboarding) live, for the pages' CSP."""
    base = api_base(app)
    if base is None or base.startswith(STRIPE_API):
        return "https://connect.stripe.com"
    parts = base.split("/")
    return "/".join(parts[:3])


def _secrets(app) -> list[str]:
    raw = app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    return [s.strip() for s in raw.split(",") if s.strip()]


def gateway(app=None, *, timeout: float | None = None) -> Gateway:
    """The app's gateway, built from its config (a new one when the config changes)."""
    app = app or current_app._get_current_object()
    if not app.config.get("STRIPE_SECRET_KEY"):
        raise errors.PaymentServiceUnavailable("Payments are not configured "
                                               "(STRIPE_SECRET_KEY is not set).")
    base = api_base(app)
    config = (app.config["STRIPE_SECRET_KEY"], base, tuple(_secrets(app)),
              float(timeout or app.config.get("STRIPE_TIMEOUT_SECONDS") or 30), os.getpid())
    cache = app.extensions.setdefault("payments.gateways", {})
    if config not in cache:
        if len(cache) > 8:
            cache.clear()
        cache[config] = Gateway(api_key=config[0], api_base=base,
                                webhook_secrets=list(config[2]), timeout=config[3])
    return cache[config]


def readiness(app) -> str | None:
    """'ok' or why not, for /readyz; None when payments are not configured."""
    if not app.config.get("STRIPE_SECRET_KEY"):
        return None
    try:
        return gateway(app, timeout=3.0).ping()
    except errors.PaymentError as exc:
        return f"error: {exc.message}"
