"""Outgoing webhooks: signed, delivered once per id, retried with backoff, turned off when
gone; an SSRF guard in production; the firm's pages."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update as sa_update

from marketplace.core import clock, outbox
from marketplace.core.outbox import OutboxMessage, OutboxStatus
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.find.lifecycle import transition
from marketplace.integrations import webhooks as http
from marketplace.notifications import webhooks
from marketplace.notifications.models import Notification
from tests import factories
from tests.find.helpers import make_assignment
from tests.webhook_receiver import Receiver, verify


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _endpoint(owner, receiver, types=("assignment.published",)):
    endpoint, secret = webhooks.create_endpoint(owner, url=receiver.url, event_types=list(types))
    receiver.secret = secret
    db.session.commit()
    return endpoint


def test_signature_verifies_and_a_tampered_body_fails():
    secret = http.new_secret()
    assert len(secret) > len("whsec_") + 32
    body = b'{"type":"assignment.published"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
               "webhook-signature": http.sign(secret, "msg_1", 1700000000, body)}
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"published", b"cancelled"))
    assert not verify(secret, {**headers, "webhook-timestamp": "1700000001"}, body)
    assert not verify(http.new_secret(), headers, body)


def test_a_lifecycle_move_reaches_the_firms_endpoint_once_signed(app, ctx, receiver):
    owner = factories.firm_user()
    endpoint = _endpoint(owner, receiver, ("assignment.published", "assignment.cancelled"))
    job = make_assignment(owner, status=S.DRAFT, title="Rack and stack")
    transition(job, S.PUBLISHED, actor=owner, action="assignment.published")
    db.session.commit()  # relayed after commit
    assert len(receiver.received) == 1 and receiver.received[0]["verified"]
    event = next(iter(receiver.accepted.values()))
    assert event["type"] == "assignment.published"
    assert event["data"]["assignment_id"] == job.id and event["data"]["title"] == "Rack and stack"
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))
    assert row.status == OutboxStatus.SENT and row.last_status == 200
    assert receiver.received[0]["headers"]["webhook-id"] == row.message_id
    # A resend carries the same id: the receiver keeps one effect.
    webhooks.resend(owner, row)
    db.session.commit()
    assert len(receiver.received) == 2 and len(receiver.accepted) == 1
    assert [m.id for m in webhooks.deliveries(endpoint)] == [row.id]


def test_an_event_nobody_subscribed_to_sends_nothing(app, ctx, receiver):
    owner = factories.firm_user()
    _endpoint(owner, receiver, ("assignment.approved",))
    job = make_assignment(owner, status=S.DRAFT)
    transition(job, S.PUBLISHED, actor=owner, action="assignment.published")
    db.session.commit()
    assert receiver.received == []


def test_failures_back_off_then_the_endpoint_is_turned_off_and_the_firm_told(app, ctx, receiver):
    owner = factories.firm_user()
    endpoint = _endpoint(owner, receiver)
    receiver.status = 503
    clock.travel_to(clock.now(), freeze=True)
    webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": 1})
    db.session.commit()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))
    waits = []
    for _ in range(20):
        db.session.refresh(row)
        if row.status != OutboxStatus.PENDING:
            break
        waits.append(row.next_attempt_at - clock.now())
        clock.travel_to(row.next_attempt_at, freeze=True)
        outbox.relay()
    db.session.refresh(row)
    db.session.refresh(endpoint)
    assert row.status == OutboxStatus.DEAD and row.attempts == 10 and row.last_status == 503
    assert len(receiver.received) == 10
    assert all(later > earlier for earlier, later in zip(waits, waits[1:]))
    total = sum(waits, timedelta())
    assert timedelta(days=1) < total < timedelta(days=4)
    assert endpoint.enabled is False and "503" in endpoint.disabled_reason
    told = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "webhook.disabled")).all()
    assert told == [owner.id]


def test_410_gone_turns_the_endpoint_off_at_once(app, ctx, receiver):
    owner = factories.firm_user()
    endpoint = _endpoint(owner, receiver)
    receiver.status = 410
    webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": 1})
    db.session.commit()
    db.session.refresh(endpoint)
    assert len(receiver.received) == 1 and endpoint.enabled is False
    webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": 2})
    db.session.commit()
    assert len(receiver.received) == 1


def test_a_rotated_secret_signs_beside_the_old_one(app, ctx, receiver):
    owner = factories.firm_user()
    endpoint = _endpoint(owner, receiver)
    old = receiver.secret
    new = webhooks.rotate_secret(owner, endpoint)
    db.session.commit()
    webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": 1})
    db.session.commit()
    headers, body = receiver.received[0]["headers"], receiver.received[0]["body"]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(old, headers, body) and verify(new, headers, body)


@pytest.mark.parametrize("url", [
    "http://example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
    "https://192.168.0.10/hook", "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook", "https://[fd00::1]/hook", "https://0.0.0.0/hook",
    "https://user:pass@example.com/hook", "ftp://example.com/x", "not a url",
])
def test_production_refuses_private_and_unsafe_endpoints(app, ctx, url):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    try:
        with pytest.raises(http.UnsafeEndpoint):
            http.check_url(url)
    finally:
        app.config["WEBHOOKS_ALLOW_PRIVATE"] = True


def test_the_firm_adds_an_endpoint_and_sees_the_secret_once(app, ctx, client, auth):
    owner = factories.firm_user()
    db.session.commit()
    auth.login(owner.email, factories.PASSWORD)
    page = client.post("/settings/webhooks", data={
        "url": "http://127.0.0.1:9/hooks", "event_types": ["assignment.approved",
                                                           "assignment.no_show"]})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "whsec_" in text and "shown once" in text
    listing = client.get("/settings/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hooks" in listing and "2 events" in listing
    assert "whsec_" not in listing
    bad = client.post("/settings/webhooks", data={"url": "http://127.0.0.1:9/x"})
    assert "Choose at least one event." in bad.get_data(as_text=True)


def test_a_relay_run_posts_over_one_kept_alive_connection(app, ctx, receiver):
    owner = factories.firm_user()
    _endpoint(owner, receiver)
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        for n in range(5):
            webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": n})
        db.session.commit()
        assert outbox.relay().sent == 5
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True
    assert len(receiver.accepted) == 5 and all(r["verified"] for r in receiver.received)
    assert receiver.connections == 1


def test_the_shared_session_keeps_no_receivers_cookie(app, ctx):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    cookies: list[str | None] = []

    class SetsCookie(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            cookies.append(self.headers.get("cookie"))
            self.send_response(200)
            self.send_header("set-cookie", "session=firm-a; Path=/")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SetsCookie)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        with http.session():
            for n in range(2):
                http.send(url, message_id=f"msg_{n}", timestamp=1700000000, body=b"{}",
                          secrets_=[http.new_secret()])
    finally:
        server.shutdown()
        server.server_close()
    assert cookies == [None, None]


class _Recording:
    """A local HTTP server that records each request's path and headers."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.seen: list[tuple[str, dict]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _send(url, n=0):
    return http.send(url, message_id=f"msg_{n}", timestamp=1700000000, body=b"{}",
                     secrets_=[http.new_secret()])


def test_a_webhook_never_carries_credentials_from_a_netrc(app, ctx, tmp_path, monkeypatch):
    server = _Recording()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login relay password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    try:
        _send(f"http://127.0.0.1:{server.port}/hooks")
        with http.session():
            _send(f"http://127.0.0.1:{server.port}/hooks", 1)
    finally:
        server.close()
    assert [headers.get("authorization") for _, headers in server.seen] == [None, None]


def test_webhooks_go_through_the_environments_proxy_unless_no_proxy_says(app, ctx,
                                                                          monkeypatch):
    proxy, target = _Recording(), _Recording()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "localhost")
    try:
        with http.session():
            _send(f"http://127.0.0.1:{target.port}/hooks")
            _send(f"http://127.0.0.1:{target.port}/hooks", 1)
            _send(f"http://localhost:{target.port}/direct", 2)
    finally:
        proxy.close()
        target.close()
    assert [path for path, _ in proxy.seen] == [f"http://127.0.0.1:{target.port}/hooks"] * 2
    assert [path for path, _ in target.seen] == ["/direct"]


def test_a_relay_run_reads_each_endpoint_once_not_per_delivery(app, ctx, receiver):
    from sqlalchemy import event
    owner = factories.firm_user()
    _endpoint(owner, receiver)
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    reads: list[str] = []

    def listener(conn, cursor, statement, *rest):
        if "FROM webhook_endpoints" in statement:
            reads.append(statement)

    try:
        for n in range(5):
            webhooks.emit(owner.firm.id, "assignment.published", {"assignment_id": n})
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert outbox.relay().sent == 5
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True
    assert len(reads) == 1 and len(receiver.accepted) == 5


def test_an_endpoint_turned_off_is_read_again_after_a_second(app, ctx, receiver, monkeypatch):
    owner = factories.firm_user()
    endpoint = _endpoint(owner, receiver)
    monkeypatch.setattr(webhooks, "ENDPOINT_FRESH_S", 0.0)
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    turned_off = []

    def turn_off_after_first(payload, message):
        status = webhooks._deliver(payload, message)
        if not turned_off:
            turned_off.append(message.message_id)
            db.session.execute(sa_update(webhooks.WebhookEndpoint)
                               .where(webhooks.WebhookEndpoint.id == endpoint.id)
                               .values(enabled=False))
            db.session.commit()
        return status

    # The webhook channel, with a deliverer that turns the endpoint off after the first.
    channels = app.extensions["marketplace.hooks"].mapping(outbox.CHANNELS_HOOK)
    if "webhook_turning_off" not in channels:
        outbox.register_channel(app, "webhook_turning_off", dataclasses.replace(
            channels["webhook"], deliver=lambda p, m: app.config["TEST_DELIVER"](p, m)))
    app.config["TEST_DELIVER"] = turn_off_after_first
    try:
        for n in range(3):
            outbox.enqueue("webhook_turning_off", {
                "endpoint_id": endpoint.id, "type": "assignment.published",
                "timestamp": clock.now().isoformat(), "data": {"assignment_id": n}})
        db.session.commit()
        result = outbox.relay()
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True
    assert (result.sent, result.dead) == (1, 2) and len(receiver.accepted) == 1
