"""The sandbox's state: Stripe objects by id, balances per account, idempotency
records, events. One lock serialises every change; an optional JSON file keeps the
state across processes (the demo seeds in one process and serves in another)."""
from __future__ import annotations

import atexit
import json
import os
import threading
import time
import uuid
from typing import Any

PLATFORM = "platform"
STATE = ("objects", "meta", "order", "balances", "idempotency", "events", "undelivered")


class ApiError(Exception):
    """A Stripe error response: status and the `error` object of the body."""

    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, saved: bool = True, **extra: Any):
        super().__init__(message)
        self.status = status
        # Stripe keeps an idempotent result only once a request began to run: not for
        # parameters that failed validation.
        self.saved = saved
        self.body = {"type": type_, "message": message, **({"code": code} if code else {}),
                     **({"param": param} if param else {}), **extra}

    @classmethod
    def missing(cls, kind: str, object_id: str) -> "ApiError":
        return cls(404, "invalid_request_error", f"No such {kind}: '{object_id}'",
                   code="resource_missing", param="id")

    @classmethod
    def invalid(cls, param: str, message: str, code: str = "parameter_invalid") -> "ApiError":
        return cls(400, "invalid_request_error", message, code=code, param=param, saved=False)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


class Store:
    """In memory, saved to `path` after each change when a path is given."""

    def __init__(self, path: str | None = None):
        self.lock = threading.RLock()
        self.path = path
        self.dirty = False
        self.saver: threading.Thread | None = None
        self.reset()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                self.__dict__.update(json.load(fh))

    def reset(self) -> None:
        with self.lock:
            self.objects: dict[str, dict] = {}
            self.meta: dict[str, dict] = {}          # what Stripe keeps but does not show
            self.order: dict[str, list[str]] = {}    # object type -> ids, oldest first
            self.balances: dict[str, dict[str, dict[str, int]]] = {}
            self.idempotency: dict[str, dict] = {}
            self.events: list[str] = []
            self.undelivered: list[str] = []

    def save(self) -> None:
        """Mark the state changed; a background thread writes it within a second (and
        once more when the process exits), so many changes cost one write."""
        if not self.path:
            return
        with self.lock:
            self.dirty = True
            if self.saver is None:
                self.saver = threading.Thread(target=self._save_loop, daemon=True,
                                              name="stripe-sandbox-save")
                self.saver.start()
                atexit.register(self.flush)

    def _save_loop(self) -> None:
        while True:
            time.sleep(0.5)
            self.flush()

    def flush(self) -> None:
        with self.lock:
            if not self.dirty:
                return
            state = json.dumps({k: getattr(self, k) for k in STATE})
            self.dirty = False
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(state)
        os.replace(tmp, self.path)

    # objects -------------------------------------------------------------
    def add(self, obj: dict, *, account: str = PLATFORM, **meta: Any) -> dict:
        self.objects[obj["id"]] = obj
        self.meta[obj["id"]] = {"account": account, **meta}
        self.order.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def get(self, kind: str, object_id: str, *, account: str | None = None) -> dict:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind or (
                account is not None and self.meta[object_id]["account"] != account):
            raise ApiError.missing(kind, object_id)
        return obj

    def listing(self, kind: str, *, account: str | None = None, where=None) -> list[dict]:
        """Newest first, as Stripe lists."""
        found = []
        for object_id in reversed(self.order.get(kind, [])):
            obj = self.objects[object_id]
            if account is not None and self.meta[object_id]["account"] != account:
                continue
            if where is None or where(obj):
                found.append(obj)
        return found

    # balances ------------------------------------------------------------
    def funds(self, account: str, currency: str) -> dict[str, int]:
        return self.balances.setdefault(account, {}).setdefault(
            currency.lower(), {"available": 0, "pending": 0})

    def book(self, account: str, *, amount: int, fee: int, currency: str, type_: str,
             source: str | None, pending: bool = False, description: str | None = None) -> dict:
        """A balance transaction: moves the account's available (or pending) by amount - fee."""
        net = amount - fee
        self.funds(account, currency)["pending" if pending else "available"] += net
        txn = {"id": new_id("txn"), "object": "balance_transaction", "amount": amount,
               "fee": fee, "net": net, "currency": currency.lower(), "type": type_,
               "source": source, "status": "pending" if pending else "available",
               "created": now(), "available_on": now(), "description": description,
               "reporting_category": type_}
        return self.add(txn, account=account)
