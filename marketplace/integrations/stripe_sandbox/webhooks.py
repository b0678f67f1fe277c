"""Events out: Stripe's signature scheme and delivery to the app's endpoint, by hand
(tests: in any order, any number of times) or from a background thread (the demo)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any, Callable


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def encode(event: dict) -> bytes:
    return json.dumps(event, indent=2).encode()


def post(target: Any, path: str, payload: bytes, header: str) -> int:
    """POST to a Flask test client (in process) or to a base URL over HTTP."""
    headers = {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    if isinstance(target, str):
        import requests
        return requests.post(target.rstrip("/") + path, data=payload, headers=headers,
                             timeout=10).status_code
    return target.post(path, data=payload, headers=headers).status_code


class Deliverer:
    """Delivers new events in order, shortly after the request that made them; a failed
    delivery is retried every few seconds, as Stripe retries for days."""

    def __init__(self, take: Callable[[], list[dict]], put_back: Callable[[list[dict]], None],
                 secret: str, url: str, path: str = "/webhooks/stripe", delay: float = 0.2):
        self.take, self.put_back, self.secret = take, put_back, secret
        self.url, self.path, self.delay = url, path, delay
        self.wake = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="stripe-sandbox-webhooks",
                                       daemon=True)
        self.thread.start()

    def notify(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    def _run(self) -> None:
        retry_in = None
        while not self.stopped:
            self.wake.wait(timeout=retry_in)
            self.wake.clear()
            time.sleep(self.delay)   # let the request that made them finish first
            events = self.take()
            retry_in = None
            for index, event in enumerate(events):
                payload = encode(event)
                try:
                    status = post(self.url, self.path, payload, sign(payload, self.secret))
                except Exception:
                    status = 0
                if not 200 <= status < 300:
                    self.put_back(events[index:])
                    retry_in = 3.0
                    break
