"""The sandbox on a loopback port, in a thread of the calling process."""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

from .sandbox import Sandbox


class SandboxServer:
    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0):
        self.sandbox = sandbox
        self.server = make_server(host, port, sandbox, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        sandbox.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       name="stripe-sandbox", daemon=True)

    def start(self) -> "SandboxServer":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.stop_delivering()
        self.server.shutdown()
        self.server.server_close()


_EMBEDDED: dict[str, SandboxServer] = {}
_LOCK = threading.Lock()


def embedded(*, webhook_secret: str, state_path: str | None, port: int = 0) -> SandboxServer:
    """The process's one embedded sandbox (started on first use), per state file."""
    key = state_path or ":memory:"
    with _LOCK:
        server = _EMBEDDED.get(key)
        if server is None:
            server = SandboxServer(Sandbox(webhook_secret=webhook_secret,
                                           state_path=state_path), port=port).start()
            _EMBEDDED[key] = server
        return server
