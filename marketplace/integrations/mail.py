"""Outgoing email: SMTP when SMTP_URL is set, otherwise printed to the log."""
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


def send(mail: Mail) -> None:
    if current_app.config.get("MAIL_SUPPRESS"):
        return
    url = current_app.config.get("SMTP_URL")
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
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


def send_after_commit(to: str, subject: str, body: str) -> None:
    """Queue an email that goes out only if the current transaction commits."""
    from ..transactions import on_commit
    app = current_app._get_current_object()
    mail = Mail(to=to, subject=subject, body=body)

    def _send() -> None:
        with app.app_context():
            send(mail)

    on_commit(_send)
