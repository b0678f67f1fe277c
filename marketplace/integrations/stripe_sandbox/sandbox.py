"""The sandbox: Stripe's API over WSGI, its state, its faults and its events."""
from __future__ import annotations

import copy
import fnmatch
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from . import connect, forms, hosted, money
from .lists import expand, paginate
from .store import PLATFORM, ApiError, Store, new_id, now
from .webhooks import Deliverer, encode, post, sign

API_VERSION = "2025-09-30.clover"
FAULTS = {"server_error", "unavailable", "timeout", "lost_response", "decline",
          "insufficient_balance"}


@dataclass
class Fault:
    route: str          # "POST /v1/transfers", wildcards allowed: "POST /v1/transfers/*"
    kind: str
    times: int = 1
    seconds: float = 2.0  # how long a "timeout" keeps the client waiting


@dataclass
class Call:
    """One API request as the handlers see it."""
    params: dict[str, Any]
    account: str | None
    base_url: str
    request_id: str
    idempotency_key: str | None = None
    fault: str | None = None
    path_id: str | None = None
    version: str = API_VERSION


def _get(kind: str) -> Callable:
    def handler(sb: "Sandbox", call: Call):
        return 200, sb.store.get(kind, call.path_id or "")
    return handler


def _list(kind: str, url: str, *, scoped: bool = False, filters: tuple[str, ...] = ()):
    def handler(sb: "Sandbox", call: Call):
        wanted = {name: call.params[name] for name in filters if call.params.get(name)}
        items = sb.store.listing(kind, account=(call.account or PLATFORM) if scoped else None,
                                 where=lambda o: all(o.get(k) == v for k, v in wanted.items()))
        return 200, paginate(items, call.params, url)
    return handler


def _balance(sb: "Sandbox", call: Call):
    held = sb.store.balances.get(call.account or PLATFORM) or {"usd": {"available": 0,
                                                                       "pending": 0}}
    return 200, {"object": "balance", "livemode": False,
                 "available": [{"amount": v["available"], "currency": c} for c, v in held.items()],
                 "pending": [{"amount": v["pending"], "currency": c} for c, v in held.items()]}


ROUTES: list[tuple[str, re.Pattern, Callable]] = [(m, re.compile(p + "$"), h) for m, p, h in [
    ("POST", r"/v1/accounts", connect.create_account),
    ("GET", r"/v1/accounts/(?P<id>[\w]+)", _get("account")),
    ("POST", r"/v1/account_links", connect.create_account_link),
    ("POST", r"/v1/payment_intents", money.create_payment_intent),
    ("GET", r"/v1/payment_intents/(?P<id>\w+)", _get("payment_intent")),
    ("GET", r"/v1/charges/(?P<id>\w+)", _get("charge")),
    ("POST", r"/v1/refunds", money.refund),
    ("GET", r"/v1/refunds/(?P<id>\w+)", _get("refund")),
    ("POST", r"/v1/transfers", connect.create_transfer),
    ("GET", r"/v1/transfers", _list("transfer", "/v1/transfers",
                                    filters=("transfer_group", "destination"))),
    ("GET", r"/v1/transfers/(?P<id>\w+)", _get("transfer")),
    ("POST", r"/v1/transfers/(?P<id>\w+)/reversals",
     lambda sb, call: connect.reverse_transfer(sb, call, call.path_id)),
    ("POST", r"/v1/payouts", connect.create_payout),
    ("GET", r"/v1/payouts", _list("payout", "/v1/payouts", scoped=True, filters=("status",))),
    ("GET", r"/v1/payouts/(?P<id>\w+)", _get("payout")),
    ("GET", r"/v1/balance", _balance),
    ("GET", r"/v1/balance_transactions", _list("balance_transaction",
                                               "/v1/balance_transactions", scoped=True,
                                               filters=("type", "source"))),
    ("GET", r"/v1/events", _list("event", "/v1/events", filters=("type",))),
    ("GET", r"/v1/events/(?P<id>\w+)", _get("event")),
]]


class Sandbox:
    """A stateful stand-in for Stripe's API; `wsgi` serves it, the methods steer it."""

    def __init__(self, *, webhook_secret: str, state_path: str | None = None,
                 base_url: str = ""):
        self.store = Store(state_path)
        self.webhook_secret = webhook_secret
        self.base_url = base_url
        self.faults: list[Fault] = []
        self.deliverer: Deliverer | None = None
        self.requests: list[str] = []     # "POST /v1/transfers" per request served

    # steering ------------------------------------------------------------
    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.store.save()
            self.faults.clear()
            self.requests.clear()

    def fail_next(self, route: str, kind: str = "server_error", *, times: int = 1,
                  seconds: float = 2.0) -> None:
        """The next `times` requests matching `route` meet the fault `kind`."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULTS)}")
        with self.store.lock:
            self.faults.append(Fault(route, kind, times, seconds))

    def _changing(fn):  # noqa: N805  (a decorator for the steering methods below)
        def wrapper(self, *args, **kwargs):
            with self.store.lock:
                result = fn(self, *args, **kwargs)
                self.store.save()
            self._notify()
            return copy.deepcopy(result)
        wrapper.__doc__ = fn.__doc__
        return wrapper

    @_changing
    def settle(self, payment_intent_id: str, *, fail_code: str | None = None) -> dict:
        """A `processing` bank debit settles (or fails, as its test account or fail_code says)."""
        return money.settle(self, payment_intent_id, fail_code=fail_code)

    @_changing
    def settle_all(self) -> list[dict]:
        return [money.settle(self, pi["id"]) for pi in self.store.listing(
            "payment_intent", where=lambda o: o["status"] == "processing")]

    @_changing
    def settle_payout(self, payout_id: str, *, fail_code: str | None = None) -> dict:
        return connect.settle_payout(self, payout_id, fail_code=fail_code)

    @_changing
    def pay_payouts(self) -> list[dict]:
        """Every pending payout arrives."""
        return [connect.settle_payout(self, po["id"]) for po in self.store.listing(
            "payout", where=lambda o: o["status"] == "pending")]

    @_changing
    def complete_onboarding(self, account_id: str, *, with_bank: bool = True) -> dict:
        return connect.complete_onboarding(self, account_id, with_bank=with_bank)

    @_changing
    def restrict_account(self, account_id: str, due: list[str]) -> dict:
        return connect.restrict_account(self, account_id, due)

    @_changing
    def dispute(self, payment_intent_id: str) -> dict:
        return money.dispute(self, payment_intent_id)

    @_changing
    def close_dispute(self, dispute_id: str, *, won: bool) -> dict:
        return money.close_dispute(self, dispute_id, won=won)

    @_changing
    def fund_platform(self, amount_cents: int, currency: str = "usd") -> None:
        money.fund_platform(self, amount_cents, currency)

    del _changing

    def objects(self, kind: str) -> list[dict]:
        with self.store.lock:
            return copy.deepcopy(self.store.listing(kind))

    # events --------------------------------------------------------------
    def emit(self, type_: str, obj: dict, *, account: str | None = None,
             previous: dict | None = None, call: Call | None = None) -> dict:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        if account is None and call is not None and call.account:
            account = call.account
        event = {"id": new_id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": now(), "data": data, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": call.request_id if call else None,
                             "idempotency_key": call.idempotency_key if call else None},
                 "type": type_}
        if account:
            event["account"] = account
        self.store.add(event)
        self.store.undelivered.append(event["id"])
        return event

    def take_events(self) -> list[dict]:
        """The events not yet delivered, oldest first; they count as delivered now."""
        with self.store.lock:
            ids, self.store.undelivered = self.store.undelivered, []
            self.store.save()
            return [copy.deepcopy(self.store.objects[i]) for i in ids]

    def _put_back(self, events: list[dict]) -> None:
        with self.store.lock:
            self.store.undelivered[:0] = [e["id"] for e in events]
            self.store.save()

    def signed(self, event: dict, *, timestamp: int | None = None,
               secret: str | None = None) -> tuple[bytes, str]:
        payload = encode(event)
        return payload, sign(payload, secret or self.webhook_secret, timestamp)

    def deliver_events(self, target: Any, *, order: str = "created", times: int = 1,
                       path: str = "/webhooks/stripe", types: tuple[str, ...] = ()) -> list[int]:
        """Deliver what is waiting to `target` (a test client or base URL): in creation
        order or `reversed`, each `times` times. Returns the receiver's status codes."""
        events = self.take_events()
        if types:
            events = [e for e in events if e["type"] in types]
        if order == "reversed":
            events.reverse()
        statuses = []
        for event in events:
            for _ in range(times):
                payload, header = self.signed(event)
                statuses.append(post(target, path, payload, header))
        return statuses

    def deliver_continuously(self, url: str, *, path: str = "/webhooks/stripe") -> None:
        """From now on, deliver each event over HTTP shortly after it happens."""
        self.stop_delivering()
        self.deliverer = Deliverer(self.take_events, self._put_back, self.webhook_secret,
                                   url, path)
        self.deliverer.notify()

    def stop_delivering(self) -> None:
        if self.deliverer is not None:
            self.deliverer.stop()
            self.deliverer = None

    def _notify(self) -> None:
        if self.deliverer is not None:
            self.deliverer.notify()

    # the API -------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/connect/") or request.path.startswith("/_sandbox"):
            response = hosted.handle(self, request)
        else:
            response = self._api(request, environ)
        return response(environ, start_response)

    def _fault(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fnmatch.fnmatchcase(route, fault.route):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _api(self, request: Request, environ) -> Response:
        request_id = "req_" + uuid.uuid4().hex[:14]
        route = f"{request.method} {request.path}"
        try:
            self._authenticate(request)
            raw = (request.get_data(as_text=True) if request.method == "POST"
                   else request.query_string.decode())
            try:
                params = forms.parse(raw)
            except ValueError as exc:
                raise ApiError.invalid("body", str(exc)) from None
            call = Call(params=params, account=request.headers.get("Stripe-Account"),
                        base_url=self.base_url or request.host_url.rstrip("/"),
                        request_id=request_id,
                        idempotency_key=request.headers.get("Idempotency-Key"),
                        version=request.headers.get("Stripe-Version", API_VERSION))
            with self.store.lock:
                self.requests.append(route)
                fault = self._fault(route)
                if fault and fault.kind in ("server_error", "unavailable"):
                    status = 500 if fault.kind == "server_error" else 503
                    return _json(status, {"error": {"type": "api_error", "message":
                                 "An unknown error occurred. The request was not processed."}},
                                 request_id)
                call.fault = fault.kind if fault else None
                status, body, replayed = self._run(request, call)
                self.store.save()
            self._notify()
        except ApiError as err:
            self.store.save()       # a decline still made its objects and events
            self._notify()
            return _json(err.status, {"error": err.body}, request_id)
        if fault and fault.kind == "timeout":
            time.sleep(fault.seconds)
        elif fault and fault.kind == "lost_response":
            _drop_connection(environ)
        response = _json(status, body, request_id)
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
            response.headers["Original-Request"] = replayed
        return response

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if not key.startswith(("sk_test_", "rk_test_")):
            shown = (key[:8] + "*" * 4 + key[-4:]) if key else ""
            raise ApiError(401, "invalid_request_error",
                           f"Invalid API Key provided: {shown}" if key else
                           "You did not provide an API key.")

    def _run(self, request: Request, call: Call) -> tuple[int, dict, str | None]:
        """Dispatch under the idempotency rules: a key seen before with the same request
        replays its first result; with another request it is an idempotency error."""
        key = call.idempotency_key if request.method == "POST" else None
        scope = f"{request.headers.get('Authorization')}|{call.account}|{key}"
        fingerprint = f"{request.method} {request.path} {forms.fingerprint(call.params)}"
        if key:
            seen = self.store.idempotency.get(scope)
            if seen is not None:
                if seen["fingerprint"] != fingerprint:
                    raise ApiError(400, "idempotency_error", "Keys for idempotent requests "
                                   "can only be used with the same parameters they were "
                                   "first used with. Try using a key other than "
                                   f"'{key}' if you meant to execute a different request.")
                return seen["status"], copy.deepcopy(seen["body"]), seen["request_id"]
        for method, pattern, handler in ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                call.path_id = match.groupdict().get("id")
                break
        else:
            raise ApiError(404, "invalid_request_error", "Unrecognized request URL "
                           f"({request.method}: {request.path}).")
        try:
            status, body = handler(self, call)
            body = expand(self.store, copy.deepcopy(body), call.params.get("expand"))
        except ApiError as err:
            if not (key and err.saved):
                raise
            status, body = err.status, {"error": err.body}
        if key:
            self.store.idempotency[scope] = {"fingerprint": fingerprint, "status": status,
                                             "body": body, "request_id": call.request_id}
        return status, body, None


def _json(status: int, body: dict, request_id: str) -> Response:
    import json
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Request-Id"] = request_id
    response.headers["Stripe-Version"] = API_VERSION
    return response


def _drop_connection(environ) -> None:
    """The effect happened; the answer never reaches the client."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
