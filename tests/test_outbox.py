"""The durable outbox: written in the caller's transaction, relayed after commit, once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from marketplace import create_app
from marketplace.core import clock, outbox
from marketplace.core.outbox import Channel, OutboxMessage, OutboxStatus
from marketplace.extensions import db
from marketplace.notifications.services import notify
from tests import factories


class Receiver:
    """A receiver that, like a webhook endpoint, drops a redelivered message by its key."""

    def __init__(self):
        self.calls: list[str] = []
        self.effects: dict[str, dict] = {}
        self.fail_next = 0
        self.crash_after_next = False
        self.lock = threading.Lock()

    def deliver(self, payload: dict, message: OutboxMessage) -> None:
        with self.lock:
            self.calls.append(message.message_id)
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("receiver unavailable")
            self.effects.setdefault(message.message_id, payload)
            if self.crash_after_next:
                self.crash_after_next = False
                raise KeyboardInterrupt("the relay process dies after the receiver took it")


@pytest.fixture
def receiver(app):
    """A `test` channel on this app whose deliverer is swapped per test."""
    current = Receiver()
    channels = app.extensions["marketplace.hooks"].mapping(outbox.CHANNELS_HOOK)
    if "test" not in channels:
        outbox.register_channel(app, "test", Channel(
            deliver=lambda payload, message: app.config["TEST_RECEIVER"].deliver(payload, message),
            max_attempts=3, base_delay=timedelta(seconds=10)))
    app.config["TEST_RECEIVER"] = current
    return current


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*where))


def test_nothing_is_sent_for_a_rolled_back_transaction(app, ctx, receiver):
    outbox.enqueue("test", {"n": 1})
    db.session.flush()
    db.session.rollback()
    assert outbox.relay().sent == 0
    assert receiver.calls == [] and _count() == 0


def test_a_committed_message_is_relayed_after_commit_and_marked_sent_once(app, ctx, receiver):
    message = outbox.enqueue("test", {"n": 1})
    db.session.commit()  # the relay runs after commit (eagerly here)
    assert list(receiver.effects.values()) == [{"n": 1}]
    db.session.refresh(message)
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.attempts == 1
    assert outbox.relay().sent == 0  # nothing left to do
    assert len(receiver.calls) == 1


def test_failures_back_off_then_the_message_is_dead_after_its_attempts(app, ctx, receiver):
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        clock.travel_to(clock.now(), freeze=True)
        receiver.fail_next = 10
        message = outbox.enqueue("test", {"n": 2})
        db.session.commit()
        delays = []
        for attempt in range(1, 4):
            result = outbox.relay()
            db.session.refresh(message)
            assert message.attempts == attempt and "receiver unavailable" in message.last_error
            if attempt < 3:
                assert result.failed == 1 and message.status == OutboxStatus.PENDING
                delays.append(message.next_attempt_at - clock.now())
                assert outbox.relay().failed == 0  # not due yet
                clock.travel_to(message.next_attempt_at, freeze=True)
            else:
                assert result.dead == 1 and message.status == OutboxStatus.DEAD
        # base 10 s, doubled, with jitter in [0.5, 1): 5–10 s then 10–20 s
        assert timedelta(seconds=5) <= delays[0] < timedelta(seconds=10)
        assert timedelta(seconds=10) <= delays[1] < timedelta(seconds=20)
        outbox.resend(message)
        receiver.fail_next = 0
        db.session.commit()
        assert outbox.relay().sent == 1
        assert len(receiver.effects) == 1
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_a_relay_that_dies_mid_delivery_loses_nothing_and_the_receiver_sees_one_effect(
        app, ctx, receiver):
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        for n in range(3):
            outbox.enqueue("test", {"n": n})
        db.session.commit()
        receiver.crash_after_next = True
        with pytest.raises(KeyboardInterrupt):
            outbox.relay()
        db.session.rollback()
        # The first message reached the receiver but was never marked; the lease holds it.
        assert _count(OutboxMessage.status == OutboxStatus.SENT) == 0
        assert outbox.relay().sent == 0
        clock.travel_to(clock.now() + outbox.LEASE + timedelta(seconds=1))
        assert outbox.relay().sent == 3
        assert len(receiver.calls) == 4  # one redelivery, of the same key
        assert sorted(p["n"] for p in receiver.effects.values()) == [0, 1, 2]
        assert _count(OutboxMessage.status == OutboxStatus.SENT) == 3
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_notify_emails_over_real_smtp_through_the_outbox(app, ctx, smtp_server):
    user = factories.technician(email="tech.outbox@example.com")
    db.session.commit()
    notify(user, "test.kind", "Your insurance expires soon", "Renew it before Friday.")
    assert _count() == 1
    db.session.commit()
    text = smtp_server.wait_for("tech.outbox@example.com")
    assert "Your insurance expires soon" in text and "Renew it before Friday." in text
    row = db.session.scalar(select(OutboxMessage))
    assert row.status == OutboxStatus.SENT
    raw = smtp_server.recorder.messages[0][1]
    assert f"Message-ID: <{row.message_id}@" in raw


def test_email_to_an_unreachable_smtp_server_waits_for_a_retry(app, ctx):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    try:
        user = factories.technician(email="tech.retry@example.com")
        notify(user, "test.kind", "Hello", "Body")
        db.session.commit()
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.PENDING and row.attempts == 1
        assert row.last_error and row.next_attempt_at > clock.now()
    finally:
        app.config["SMTP_URL"] = None


def test_flask_outbox_deliver_sends_what_is_due(app, ctx, receiver):
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        outbox.enqueue("test", {"n": 7})
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
        assert result.exit_code == 0, result.output
        assert "1 sent" in result.output
        assert list(receiver.effects.values()) == [{"n": 7}]
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_concurrent_relays_deliver_each_message_exactly_once(app, receiver):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("concurrent relays run on PostgreSQL")
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        with app.app_context():
            for n in range(300):
                outbox.enqueue("test", {"n": n})
            db.session.commit()
            db.engine.dispose()
        racer = create_app("testing", {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})
        outbox.register_channel(racer, "test", Channel(deliver=receiver.deliver))
        barrier = threading.Barrier(4)
        sent: list[int] = []

        def run():
            with racer.app_context():
                barrier.wait()
                sent.append(outbox.relay(limit=20).sent)
                db.session.remove()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(sent) == 300
        assert len(receiver.calls) == 300 == len(set(receiver.calls))
        with app.app_context():
            assert _count(OutboxMessage.status == OutboxStatus.SENT) == 300
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_a_relay_run_reads_no_row_per_message_and_marks_them_together(app, ctx, receiver):
    """The claim brings the rows; the delivered ones are marked sent in one statement."""
    from sqlalchemy import event
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        def statements_to_relay(n: int) -> int:
            for i in range(n):
                outbox.enqueue("test", {"n": i})
            db.session.commit()
            seen: list[str] = []
            listener = lambda conn, cursor, statement, *rest: seen.append(statement)
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assert outbox.relay().sent == n
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            return len(seen)

        few, more = statements_to_relay(3), statements_to_relay(9)
        assert more <= few + 1   # not one per message (one more if the marks were split)
        assert len(receiver.effects) == 12
        assert _count(OutboxMessage.status == OutboxStatus.SENT) == 12
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_a_configured_lease_brings_a_crashed_relays_messages_back_sooner(app, ctx, receiver):
    app.config.update(OUTBOX_RELAY_AFTER_COMMIT=False, OUTBOX_LEASE_SECONDS=10)
    try:
        clock.travel_to(clock.now(), freeze=True)
        for n in range(2):
            outbox.enqueue("test", {"n": n})
        db.session.commit()
        receiver.crash_after_next = True
        with pytest.raises(KeyboardInterrupt):
            outbox.relay()
        db.session.rollback()
        clock.travel_to(clock.now() + timedelta(seconds=9), freeze=True)
        assert outbox.relay().sent == 0
        clock.travel_to(clock.now() + timedelta(seconds=2), freeze=True)
        assert outbox.relay().sent == 2
        assert sorted(p["n"] for p in receiver.effects.values()) == [0, 1]
    finally:
        app.config.update(OUTBOX_RELAY_AFTER_COMMIT=True, OUTBOX_LEASE_SECONDS=None)


def test_deliveries_start_only_in_the_first_half_of_the_lease(app, ctx, receiver):
    """A slow batch stops starting deliveries halfway through its lease: one that then
    starts ends before another relay may take the row, and the rest wait for the lease."""
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    slow = receiver.deliver

    def deliver_slowly(payload, message):
        slow(payload, message)
        clock.travel_to(clock.now() + outbox.LEASE / 2, freeze=True)

    receiver.deliver = deliver_slowly
    try:
        clock.travel_to(clock.now(), freeze=True)
        for n in range(3):
            outbox.enqueue("test", {"n": n})
        db.session.commit()
        assert outbox.relay().sent == 1
        assert outbox.relay().sent == 0          # the other two are still leased
        clock.travel_to(clock.now() + outbox.LEASE / 2, freeze=True)
        assert outbox.relay().sent == 1
        clock.travel_to(clock.now() + outbox.LEASE, freeze=True)
        assert outbox.relay().sent == 1
        assert len(receiver.calls) == 3 == len(set(receiver.calls))
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_a_relay_run_sends_its_emails_over_one_smtp_connection(app, ctx, smtp_server):
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        users = [factories.technician(email=f"tech.batch{i}@example.com") for i in range(4)]
        db.session.commit()
        for user in users:
            notify(user, "test.kind", "Shift reminder", "See you at 8.")
        db.session.commit()
        assert outbox.relay().sent == 4
        for user in users:
            smtp_server.wait_for(user.email)
        assert len(smtp_server.recorder.peers) == 4
        assert len(set(smtp_server.recorder.peers)) == 1
        notify(users[0], "test.kind", "Another", "Body")
        db.session.commit()
        assert outbox.relay().sent == 1      # the next run opens its own, and closes it
        assert len(set(smtp_server.recorder.peers)) == 2
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_a_shared_smtp_connection_reconnects_when_the_server_hung_up(app, ctx):
    from marketplace.integrations import mail
    from tests.smtp import SmtpServer
    first = SmtpServer().start()
    app.config["SMTP_URL"] = first.url
    try:
        with mail.connection():
            mail.send(mail.Mail("a@example.com", "One", "Body"), message_id="one")
            first.stop()      # closes the connection the next send would reuse
            second = SmtpServer(first.port).start()
            try:
                mail.send(mail.Mail("b@example.com", "Two", "Body"), message_id="two")
                assert "Two" in second.wait_for("b@example.com")
            finally:
                second.stop()
        assert "One" in first.wait_for("a@example.com")
    finally:
        app.config["SMTP_URL"] = None


def test_a_claim_takes_no_more_than_its_limit(app, ctx, receiver):
    """Claimed rows stop being due as they are leased: the choice of rows is made once,
    not again for each row updated (which would lease them all)."""
    app.config["OUTBOX_RELAY_AFTER_COMMIT"] = False
    try:
        for n in range(12):
            outbox.enqueue("test", {"n": n})
        db.session.commit()
        assert outbox.relay(limit=3, rounds=1).sent == 3
        assert _count(OutboxMessage.attempts > 0) == 3
        assert outbox.relay(limit=3, rounds=1).sent == 3
        assert _count(OutboxMessage.attempts > 0) == 6
    finally:
        app.config["OUTBOX_RELAY_AFTER_COMMIT"] = True


def test_an_email_in_any_language_arrives_as_written(app, ctx, smtp_server):
    import email
    import email.policy

    from marketplace.integrations import mail
    app.config["MAIL_FROM"] = "Équipe Onsite <no-reply@onsite.example>"
    try:
        mail.send(mail.Mail("tech.fr@example.com", "Rappel : assurance expirée — 3 jours",
                            "Bonjour Zoë,\nvotre attestation expire le 5 décembre. ✓"),
                  message_id="k1")
        mail.send(mail.Mail("tech.en@example.com", "Plain subject", "Plain body."),
                  message_id="k2")
    finally:
        app.config["MAIL_FROM"] = "Onsite Marketplace <no-reply@onsite.example>"
    smtp_server.wait_for("tech.en@example.com")

    def text(message):
        return message.get_content().replace("\r\n", "\n").rstrip("\n")

    french, english = (email.message_from_string(raw, policy=email.policy.default)
                       for _, raw in smtp_server.recorder.messages)
    assert french["Subject"] == "Rappel : assurance expirée — 3 jours"
    assert french["From"].addresses[0].display_name == "Équipe Onsite"
    assert text(french) == "Bonjour Zoë,\nvotre attestation expire le 5 décembre. ✓"
    assert french["Message-ID"] == "<k1@onsite.example>"
    assert english["Subject"] == "Plain subject"
    assert text(english) == "Plain body."


@pytest.mark.parametrize("to, subject", [("tech@example.com", "Hi\r\nBcc: all@example.com"),
                                         ("tech@example.com\nBcc: all@example.com", "Hi"),
                                         ("tech@example.com", "Two\nlines")])
def test_a_line_break_in_a_header_is_refused(app, ctx, smtp_server, to, subject):
    from marketplace.integrations import mail
    with pytest.raises(ValueError):
        mail.send(mail.Mail(to, subject, "Body"), message_id="k1")
    assert smtp_server.recorder.messages == []


def test_the_admin_outbox_page_says_what_each_message_is_and_where_it_goes(
        app, ctx, client, auth, receiver):
    from marketplace.notifications.services import send_email
    from tests import pages
    factories.admin(email="outbox.admin@example.com")
    user = factories.technician(email="tech.notice@example.com")
    db.session.commit()
    receiver.fail_next = 99
    send_email("someone@example.com", "Welcome to Onsite", "Hello.")
    notify(user, "test.kind", "Your insurance expires soon", "Renew it.")
    outbox.enqueue("test", {"n": 1}, subject="Top-up $15,000.00", ref="firm:7")
    db.session.commit()
    auth.login("outbox.admin@example.com")
    page = pages.text(client.get("/admin/outbox").get_data(as_text=True))
    assert "email Welcome to Onsite\nto someone@example.com" in page
    assert "email Your insurance expires soon\nto tech.notice@example.com" in page
    assert "test Top-up $15,000.00\nfirm:7" in page
    assert page.count("Send again") == 2   # the two sent; the pending one is retried anyway
