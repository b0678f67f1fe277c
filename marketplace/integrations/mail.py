"""Outgoing email: SMTP when SMTP_URL is set, otherwise printed to the log.

Only the outbox's email channel calls `send`: everything else enqueues.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app


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
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    if message_id:
        domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip("> ")
        message["Message-ID"] = f"<{message_id}@{domain}>"
    message.set_content(mail.body)
    if not url:
        current_app.logger.info("email to=%s subject=%r\n%s", mail.to, mail.subject, mail.body)
        return
    parsed = urlparse(url)
    client_cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with client_cls(parsed.hostname or "127.0.0.1", parsed.port or 25, timeout=10) as client:
        if parsed.scheme == "smtp+starttls":
            client.starttls()
        if parsed.username:
            client.login(unquote(parsed.username), unquote(parsed.password or ""))
        client.send_message(message)

