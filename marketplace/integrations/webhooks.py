"""Outgoing webhooks over HTTP, signed as the Standard Webhooks convention says.

Headers `webhook-id`, `webhook-timestamp` and `webhook-signature`: `v1,` and the
base64 HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret
(`whsec_` and base64 of at least 24 random bytes). During a rotation both the
new and the previous secret sign, space-separated. In production, an
endpoint must be HTTPS and must not resolve to a private, loopback,
link-local or otherwise reserved address (checked at registration and again
at every send, against DNS rebinding). Inside `session()` (the outbox opens it
once per relay run) the sends share one HTTP session, so connections to an
endpoint are kept alive between deliveries. Sessions keep no cookies and send
no .netrc credentials.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import requests
from flask import current_app

SECRET_PREFIX = "whsec_"
TIMEOUT_S = 15


class UnsafeEndpoint(ValueError):
    """The URL is not one we may send to."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))


def check_url(url: str, *, resolve: bool = True) -> str:
    """The URL if we may send to it; UnsafeEndpoint(reason) if not."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeEndpoint("That is not a URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeEndpoint("Give a full URL starting with https://.")
    if parts.username or parts.password:
        raise UnsafeEndpoint("Put no user name or password in the URL.")
    if _allow_private():
        return url
    if parts.scheme != "https":
        raise UnsafeEndpoint("Endpoints must use https://.")
    if resolve:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            raise UnsafeEndpoint("That host name does not resolve.") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if not address.is_global or address.is_multicast:
                raise UnsafeEndpoint("That host resolves to a private or reserved address.")
    return url


@dataclass(frozen=True)
class Sent:
    status: int
    body: str


def send(url: str, *, message_id: str, timestamp: int, body: bytes,
         secrets_: list[str]) -> Sent:
    """POST once; raises requests' exceptions on network failure."""
    check_url(url)
    signatures = " ".join(sign(s, message_id, timestamp, body) for s in secrets_)
    shared = _shared.get()
    client = shared or _Session()
    try:
        response = client.post(url, data=body, timeout=(5, TIMEOUT_S), allow_redirects=False,
                               headers={"content-type": "application/json",
                                        "user-agent": "Onsite-Webhooks/1",
                                        "webhook-id": message_id,
                                        "webhook-timestamp": str(timestamp),
                                        "webhook-signature": signatures})
    finally:
        if shared is None:
            client.close()
    return Sent(response.status_code, response.text[:500])


class _Session:
    """A requests session for webhooks: it keeps no cookies (one receiver's never reaches
    another) and sends no credentials from a .netrc; the environment's proxies (and
    no_proxy) and CA bundle apply, read once per URL rather than at every request."""

    def __init__(self):
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.settings: dict[str, dict] = {}

    def post(self, url: str, **kwargs) -> requests.Response:
        settings = self.settings.get(url)
        if settings is None:
            with requests.Session() as environment:
                found = environment.merge_environment_settings(url, {}, None, True, None)
            settings = self.settings[url] = {"proxies": found["proxies"],
                                             "verify": found["verify"]}
        return self.http.post(url, **settings, **kwargs)

    def close(self) -> None:
        self.http.close()


_shared: ContextVar[_Session | None] = ContextVar("webhook_session", default=None)


@contextmanager
def session() -> Iterator[None]:
    """`send` inside reuses one session (its kept-alive connections), closed on the way
    out."""
    shared = _Session()
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        shared.close()
