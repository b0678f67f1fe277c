"""Outgoing email: SMTP when SMTP_URL is set, otherwise printed to the log.

Only the outbox's email channel calls `send`: everything else enqueues. Inside
`connection()` (the outbox opens it once per relay run) the sends share one SMTP
connection, opened at the first message and closed at the end.
"""
from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from urllib.parse import ParseResult, unquote, urlparse

from flask import current_app

_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP     # readable in the raw message, unlike base64
# A refusal of one message leaves the connection usable (smtplib resets the transaction).
_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def send(mail: Mail, *, message_id: str | None = None) -> None:
    """Send now (the outbox calls this after commit; nothing else should)."""
    if current_app.config.get("MAIL_SUPPRESS"):
        return
    url = current_app.config.get("SMTP_URL")
    message = _compose(mail, current_app.config["MAIL_FROM"], message_id)
    if not url:
        current_app.logger.info("email to=%s subject=%r\n%s", mail.to, mail.subject, mail.body)
        return
    shared = _shared.get()
    if shared is None:
        with _connect(urlparse(url)) as client:
            client.send_message(message)
        return
    shared.send(urlparse(url), message)


def _compose(mail: Mail, sender: str, message_id: str | None) -> MIMEText:
    """The message: plain text, any language (UTF-8, quoted-printable; headers encoded
    as RFC 2047 says when they are not ASCII). A line break in a header is refused: it
    could add headers of its own."""
    if any(c in value for value in (mail.to, mail.subject) for c in "\r\n"):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    if mail.body.isascii():
        message = MIMEText(mail.body, "plain", "us-ascii")
    else:
        message = MIMEText(mail.body, "plain", _UTF8)
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = mail.to
    message["Subject"] = mail.subject if mail.subject.isascii() else Header(mail.subject,
                                                                            "utf-8")
    if message_id:
        message["Message-ID"] = f"<{message_id}@{address.rsplit('@', 1)[-1]}>"
    return message


def _connect(parsed: ParseResult) -> smtplib.SMTP:
    client_cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    client = client_cls(parsed.hostname or "127.0.0.1", parsed.port or 25, timeout=10)
    try:
        if parsed.scheme == "smtp+starttls":
            client.starttls()
        if parsed.username:
            client.login(unquote(parsed.username), unquote(parsed.password or ""))
    except BaseException:
        client.close()
        raise
    return client


class _Connection:
    """One SMTP connection for many messages, opened at the first."""

    def __init__(self):
        self.client: smtplib.SMTP | None = None

    def send(self, parsed: ParseResult, message: MIMEText) -> None:
        if self.client is not None:
            try:
                self.client.send_message(message)
                return
            except smtplib.SMTPServerDisconnected:
                self.close()    # the server hung up since the last message: reconnect once
            except _REFUSALS:
                raise
            except BaseException:
                self.close()    # in an unknown state: the next message starts afresh
                raise
        self.client = _connect(parsed)
        try:
            self.client.send_message(message)
        except _REFUSALS:
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


_shared: ContextVar[_Connection | None] = ContextVar("smtp_connection", default=None)


@contextmanager
def connection() -> Iterator[None]:
    """`send` inside reuses one SMTP connection, closed on the way out."""
    shared = _Connection()
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        shared.close()

