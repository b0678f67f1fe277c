"""A real local SMTP server (aiosmtpd) that records what it receives."""
from __future__ import annotations

import email
import email.policy
import socket
import time

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []
        self.peers: list[tuple] = []   # the client's address per message: one per connection

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf8", "replace")))
        self.peers.append(session.peer)
        return "250 OK"


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.recorder = Recorder()
        self.port = port or _free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, recipient: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rcpts, content in self.recorder.messages:
                if recipient in rcpts:
                    message = email.message_from_string(content, policy=email.policy.default)
                    return f"Subject: {message['Subject']}\n\n" + message.get_content()
            time.sleep(0.02)
        raise AssertionError(f"no email reached {recipient}")
