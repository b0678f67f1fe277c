"""A real local HTTP receiver for webhooks that checks signatures as a firm's server would.

The Standard Webhooks algorithm is written here again, independently of the app:
HMAC-SHA256 over "id.timestamp.body" with the base64-decoded secret after
"whsec_", compared with each "v1," signature in the header.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers: dict, body: bytes) -> bool:
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


class Receiver:
    def __init__(self):
        self.secret: str | None = None
        self.status = 200
        self.received: list[dict] = []   # every request, verified or not
        self.accepted: dict[str, dict] = {}   # by webhook-id: the effect, once
        self.connections = 0                  # kept alive between requests (HTTP/1.1)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = receiver.secret is not None and verify(receiver.secret, headers, body)
                receiver.received.append({"headers": headers, "body": body, "verified": ok})
                status = receiver.status if ok else 400
                if ok and 200 <= status < 300:
                    receiver.accepted.setdefault(headers["webhook-id"], json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
