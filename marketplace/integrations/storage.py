"""Uploaded files on local disk under STORAGE_DIR, addressed by random keys.

Callers save only what `core/uploads.check_upload` accepted (and, for images,
re-encoded); reading is only ever done by a view that has already checked
authorization.
"""
from __future__ import annotations

import os
import secrets

from flask import current_app

# Magic bytes of the only document types we accept: they say which parser must then
# read the whole file (core/uploads.py), not that the file is one.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff(data: bytes) -> str | None:
    """The MIME type the content claims by its first bytes (of the accepted ones), else None."""
    for magic, mime in SIGNATURES:
        if data.startswith(magic):
            return mime
    return None


def _root() -> str:
    root = current_app.config["STORAGE_DIR"]
    os.makedirs(root, exist_ok=True)
    return root


def _path(key: str) -> str:
    if not key or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("bad storage key")
    return os.path.join(_root(), key)


def save(data: bytes) -> str:
    key = secrets.token_hex(20)
    with open(_path(key), "wb") as fh:
        fh.write(data)
    return key


def load(key: str) -> bytes:
    with open(_path(key), "rb") as fh:
        return fh.read()


def delete(key: str) -> None:
    try:
        os.remove(_path(key))
    except FileNotFoundError:
        pass
