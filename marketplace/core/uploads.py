"""Uploaded documents: the one check (size, content sniffing) and the one way to serve them.

Every stage that takes files (verify's credential documents, find's assignment
attachments) checks them here before `integrations/storage.py` keeps them, and
serves them through `file_response` after its own authorization check.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app

from ..errors import ValidationFailed
from ..integrations import storage
from .transactions import on_rollback


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def check_upload(upload: Upload, field: str = "document") -> str:
    """The file's real MIME type (PDF, JPEG or PNG), or a field error on `field`."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(upload.data) > limit:
        raise ValidationFailed.field(
            field, f"The file is too large: the limit is {limit // (1024 * 1024)} MB.")
    if not upload.data:
        raise ValidationFailed.field(field, "The file is empty.")
    mime = storage.sniff(upload.data)
    if mime is None:
        raise ValidationFailed.field(
            field, "Only PDF, JPEG or PNG files are accepted, and this file is not one "
                   "of those, whatever its name says.")
    return mime


def store(data: bytes) -> str:
    """Save checked bytes through the storage adapter; returns the key. The file is
    written before the row that names it is committed, so it is removed again if
    that transaction rolls back (no orphaned files)."""
    key = storage.save(data)
    on_rollback(lambda: storage.delete(key))
    return key


def clean_filename(name: str | None, default: str = "document") -> str:
    """The name as the uploader gave it, without any folder part, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[-200:] or default


def file_response(data: bytes, mime: str, name: str, *, inline: bool = False) -> Response:
    """A stored file as a download that the browser will not sniff or cache."""
    disposition = "inline" if inline else "attachment"
    safe = "".join(c for c in name if c.isalnum() or c in "._- ")[:100] or "document"
    return Response(data, mimetype=mime, headers={
        "Content-Disposition": f'{disposition}; filename="{safe}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
