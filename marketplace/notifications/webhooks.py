"""Webhooks for firms that integrate: endpoints, events, signed delivery through the outbox.

`emit(firm_id, type, data)` writes one outbox row per subscribed endpoint in the
caller's transaction; the outbox relays it after commit and retries with
backoff (10 attempts over about three days). The row's key is the
`webhook-id`, so a receiver drops a redelivery. A 410 answer, or a message
that used all its attempts, disables the endpoint and tells the firm's owners
and managers.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from sqlalchemy import bindparam, exists, select

from ..accounts.models import Role, User
from ..accounts.policy import firm_id_of, require_member
from ..core import audit, clock, outbox
from ..core.actions import Action
from ..core.links import path_for
from ..core.outbox import Channel, DeliveryFailed, OutboxMessage
from ..core.statements import built_once
from ..core.transactions import per_transaction
from ..errors import InvalidState, NotFound, ValidationFailed
from ..extensions import db
from ..integrations import webhooks as http
from .models import WebhookEndpoint

EVENT_TYPES = {
    "assignment.published": "Assignment published",
    "assignment.assigned": "A technician took an assignment",
    "assignment.checked_in": "The technician checked in",
    "assignment.late": "The technician is late",
    "assignment.no_show": "No-show",
    "assignment.submitted": "Work submitted for approval",
    "assignment.approved": "Work approved",
    "assignment.cancelled": "Assignment cancelled",
    "assignment.backout": "A technician backed out",
    "assignment.offboarding": "A technician was offboarded from the work",
    "message.created": "A new message",
    "sla.breached": "An SLA target was missed",
    "payout.paid": "The technician was paid for the work",
    "invoice.created": "An invoice was issued for approved work",
}
ROTATION_OVERLAP = timedelta(hours=24)
_SUBSCRIPTIONS = "webhooks_subscriptions"
per_transaction(_SUBSCRIPTIONS)     # the next transaction reads afresh
MAX_ENDPOINTS = 20
MANAGERS = (Role.OWNER, Role.MANAGER)


def ref_of(endpoint_id: int) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def list_endpoints(user: User) -> list[WebhookEndpoint]:
    firm_id = firm_id_of(user)
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.firm_id == firm_id).order_by(WebhookEndpoint.id)))


def access_endpoint(user: User, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.firm_id != firm_id_of(user):
        raise NotFound()
    return endpoint


def _clean(url: str, event_types) -> tuple[str, list[str]]:
    url = (url or "").strip()
    if len(url) > 500:
        raise ValidationFailed.field("url", "At most 500 characters.")
    try:
        http.check_url(url)
    except http.UnsafeEndpoint as exc:
        raise ValidationFailed.field("url", str(exc)) from None
    if not isinstance(event_types, list) or not event_types:
        raise ValidationFailed.field("event_types", "Choose at least one event.")
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed.field("event_types", f"Unknown event type {unknown[0]!r}.")
    return url, sorted(set(event_types))


def create_endpoint(user: User, *, url: str, event_types, description: str = ""
                    ) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once)."""
    membership = require_member(user, None, *MANAGERS,
                                message="Owners and managers set up webhooks.")
    url, types = _clean(url, event_types)
    if len(list_endpoints(user)) >= MAX_ENDPOINTS:
        raise InvalidState(f"A firm has at most {MAX_ENDPOINTS} endpoints.")
    secret = http.new_secret()
    endpoint = WebhookEndpoint(firm_id=membership.firm_id, url=url, event_types=types,
                               description=(description or "").strip()[:200], secret=secret,
                               enabled=True)
    db.session.add(endpoint)
    db.session.flush()
    _forget(membership.firm_id)
    audit.record(Action.WEBHOOK_ENDPOINT_CREATED, endpoint, actor=user,
                 firm_id=membership.firm_id, after={"url": url, "event_types": types})
    return endpoint, secret


def rotate_secret(user: User, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing for 24 hours beside it."""
    require_member(user, endpoint.firm_id, *MANAGERS, message="Owners and managers do that.")
    secret = http.new_secret()
    endpoint.previous_secret, endpoint.previous_expires_at = (endpoint.secret,
                                                              clock.now() + ROTATION_OVERLAP)
    endpoint.secret = secret
    audit.record(Action.WEBHOOK_SECRET_ROTATED, endpoint, actor=user, firm_id=endpoint.firm_id)
    return secret


def set_enabled(user: User, endpoint: WebhookEndpoint, enabled: bool) -> None:
    require_member(user, endpoint.firm_id, *MANAGERS, message="Owners and managers do that.")
    endpoint.enabled, endpoint.disabled_reason = enabled, None if enabled else "Turned off."
    _forget(endpoint.firm_id)
    audit.record(Action.WEBHOOK_ENDPOINT_ENABLED if enabled else Action.WEBHOOK_ENDPOINT_DISABLED,
                 endpoint, actor=user, firm_id=endpoint.firm_id)


def emit(firm_id: int, event_type: str, data: dict) -> int:
    """Queue `event_type` for each of the firm's endpoints that wants it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    sent = 0
    stamp = clock.now().isoformat()
    for endpoint_id, wanted in _subscriptions(firm_id):
        if event_type not in (wanted or []):
            continue
        outbox.enqueue("webhook", {"endpoint_id": endpoint_id, "type": event_type,
                                   "timestamp": stamp, "data": data},
                       subject=event_type, ref=ref_of(endpoint_id),
                       message_id="msg_" + outbox.new_key())
        sent += 1
    return sent


def _subscriptions(firm_id: int) -> list[tuple[int, list | None]]:
    """The firm's enabled endpoints and the events each wants: read once per transaction
    (a lifecycle move asks at every move), or not at all when a caller read with the
    firm's rows that it has none (`any_endpoint`)."""
    known = db.session.info.setdefault(_SUBSCRIPTIONS, {})
    if firm_id not in known:
        known[firm_id] = [tuple(row) for row in db.session.execute(
            built_once(("webhooks.subscribed",), _subscribed), {"firm": firm_id})]
    return known[firm_id]


def _subscribed():
    """The firm's (bound as `firm`) enabled endpoints and the events each wants."""
    return select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.firm_id == bindparam("firm"), WebhookEndpoint.enabled.is_(True))


def any_endpoint(firm_id_column):
    """A column for a SELECT that reads work: whether its firm has an enabled endpoint
    (give it to `note_any_endpoint`, and an event emitted in this transaction reads the
    endpoints only when there are some)."""
    return exists().where(WebhookEndpoint.firm_id == firm_id_column,
                          WebhookEndpoint.enabled.is_(True))


def note_any_endpoint(firm_id: int, found: bool) -> None:
    if not found:
        db.session.info.setdefault(_SUBSCRIPTIONS, {})[firm_id] = []


def _forget(firm_id: int) -> None:
    db.session.info.get(_SUBSCRIPTIONS, {}).pop(firm_id, None)


def deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.ref == ref_of(endpoint.id))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def access_delivery(user: User, message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.channel != "webhook":
        raise NotFound()
    access_endpoint(user, message.payload.get("endpoint_id"))
    return message


def resend(user: User, message: OutboxMessage) -> None:
    endpoint = access_endpoint(user, message.payload.get("endpoint_id"))
    require_member(user, endpoint.firm_id, *MANAGERS, message="Owners and managers do that.")
    outbox.resend(message)


# Within a relay run, an endpoint read this recently is not read again for each delivery.
ENDPOINT_FRESH_S = 1.0
_read: ContextVar[dict[int, tuple[float, tuple[str, list[str]] | None]] | None] = \
    ContextVar("webhook_endpoints_read", default=None)


@contextmanager
def _batch() -> Iterator[None]:
    """A relay run's webhooks: one HTTP session, each endpoint read once a second."""
    with http.session():
        token = _read.set({})
        try:
            yield
        finally:
            _read.reset(token)


def _target(endpoint_id: int) -> tuple[str, list[str]] | None:
    """The endpoint's URL and signing secrets, or None when it is off or gone."""
    read = _read.get()
    at = time.monotonic()
    if read is not None and endpoint_id in read and at - read[endpoint_id][0] < ENDPOINT_FRESH_S:
        return read[endpoint_id][1]
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    target = None
    if endpoint is not None and endpoint.enabled:
        secrets_ = [endpoint.secret]
        if endpoint.previous_secret and endpoint.previous_expires_at and \
                endpoint.previous_expires_at > clock.now():
            secrets_.append(endpoint.previous_secret)
        target = (endpoint.url, secrets_)
    db.session.rollback()  # nothing is held open while the receiver answers
    if read is not None:
        read[endpoint_id] = (at, target)
    return target


def _deliver(payload: dict, message: OutboxMessage) -> int:
    target = _target(payload["endpoint_id"])
    if target is None:
        raise DeliveryFailed("The endpoint is turned off.", final=True)
    url, secrets_ = target
    body = json.dumps({"type": payload["type"], "timestamp": payload["timestamp"],
                       "data": payload["data"]}, separators=(",", ":")).encode()
    try:
        sent = http.send(url, message_id=message.message_id, timestamp=int(time.time()),
                         body=body, secrets_=secrets_)
    except http.UnsafeEndpoint as exc:
        raise DeliveryFailed(str(exc), final=True) from None
    if sent.status == 410:
        read = _read.get()
        if read is not None:    # it is turned off now: the next delivery reads it again
            read.pop(payload["endpoint_id"], None)
        raise DeliveryFailed("The endpoint answered 410 Gone.", 410, final=True)
    if not 200 <= sent.status < 300:
        raise DeliveryFailed(f"The endpoint answered {sent.status}.", sent.status)
    return sent.status


def _disable_after_failure(payload: dict, message: OutboxMessage) -> None:
    """Gone, or failing for days: turn the endpoint off and tell the firm."""
    from .services import notify_firm
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"])
    if endpoint is None or not endpoint.enabled:
        return
    reason = message.last_error or "Deliveries kept failing."
    endpoint.enabled, endpoint.disabled_reason = False, reason[:300]
    audit.record(Action.WEBHOOK_ENDPOINT_DISABLED, endpoint, firm_id=endpoint.firm_id,
                 after={"reason": reason[:300]})
    notify_firm(endpoint.firm_id, "webhook.disabled", "A webhook endpoint was turned off",
                f"{endpoint.url}: {reason} Fix it and turn it back on; nothing is lost, "
                "you can resend each delivery.",
                link=path_for("notifications.webhooks"))


WEBHOOK = Channel(deliver=_deliver, max_attempts=10, base_delay=timedelta(minutes=5),
                  on_dead=_disable_after_failure, batch=_batch)
