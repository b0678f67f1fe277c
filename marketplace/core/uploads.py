"""Uploaded documents: the one check (size, content) and the one way to serve them.

Every stage that takes files (verify's credential documents, find's assignment
attachments) checks them here before `integrations/storage.py` keeps them, and
serves them through `file_response` after its own authorization check.

The check reads the whole file, not its first bytes: images are decoded by
Pillow (within a pixel budget, so a small file cannot inflate into gigabytes)
and re-encoded, which drops EXIF (location), text chunks and anything appended;
PDFs must open in pypdf and have a page. What is stored is what was checked.
"""
from __future__ import annotations

import io
import logging
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

from flask import Request, Response, current_app
from PIL import Image, ImageOps
from pypdf import PdfReader

from ..errors import TooLarge, ValidationFailed
from ..integrations import storage
from .transactions import on_rollback

log = logging.getLogger(__name__)

# Decoded pixels an image may have: ample for a phone photo or a 600 dpi A4 scan
# (35 Mpx); a 40 Mpx RGB image decodes to about 120 MB.
MAX_IMAGE_PIXELS = 40_000_000
# Pillow's own guard, at the same figure: it warns past it (made an error below)
# and refuses outright past twice it.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"),
              "image/png": (".png",)}
NOT_ACCEPTED = ("Only PDF, JPEG or PNG files are accepted, and this file is not one of "
                "those, whatever its name says.")


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedUpload:
    """A file that passed `check_upload`: its real type and the bytes to store."""
    mime: str
    data: bytes


class _Refused(Exception):
    """The content is not a readable file of the type its first bytes claim."""


def check_upload(upload: Upload, field: str = "document") -> CheckedUpload:
    """The file's real type (PDF, JPEG or PNG) and the bytes to keep, or a field error on
    `field`. Images come back re-encoded; PDFs as sent."""
    if len(upload.data) > current_app.config["UPLOAD_MAX_BYTES"]:
        raise TooLarge.field(field, TooLarge.file_message())
    if not upload.data:
        raise ValidationFailed.field(field, "The file is empty.")
    mime = storage.sniff(upload.data)
    if mime is None:
        raise ValidationFailed.field(field, NOT_ACCEPTED)
    try:
        data = _CLEANERS[mime](upload.data)
    except _Refused as refused:
        raise ValidationFailed.field(field, str(refused)) from None
    return CheckedUpload(mime=mime, data=data)


def _image(fmt: str, kind: str) -> Callable[[bytes], bytes]:
    damaged = (f"This file starts like a {kind} image but cannot be read as one: it is "
               "damaged or something else. Take the photo or scan again.")

    def clean(data: bytes) -> bytes:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                    if im.width * im.height > MAX_IMAGE_PIXELS:
                        raise Image.DecompressionBombError(f"{im.width}x{im.height}")
                    im.load()
                    return _reencode(im, fmt)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _Refused(f"The image has too many pixels: at most "
                           f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels. Send a smaller "
                           "photo or scan.") from None
        except Exception as exc:  # a hostile file can make a decoder raise anything
            log.info("refused %s upload: %s: %s", kind, type(exc).__name__, exc)
            raise _Refused(damaged) from None
    return clean


def _reencode(im: Image.Image, fmt: str) -> bytes:
    """The pixels only: turned upright as the camera meant, then saved without EXIF,
    comments, text chunks or trailing bytes (the colour profile is kept)."""
    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:  # unreadable EXIF: the pixels are fine, keep them as they are
        upright = im.copy()
    keep = {"icc_profile": im.info.get("icc_profile")}
    if fmt == "PNG" and "transparency" in im.info and upright.mode in ("1", "L", "P", "RGB"):
        keep["transparency"] = im.info["transparency"]
    upright.info = {}
    out = io.BytesIO()
    if fmt == "JPEG":
        if upright.mode not in ("1", "L", "RGB", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=90, **{k: v for k, v in keep.items() if v})
    else:
        upright.save(out, "PNG", **{k: v for k, v in keep.items() if v is not None})
    return out.getvalue()


def _pdf(data: bytes) -> bytes:
    damaged = ("This file starts like a PDF but cannot be read as one: it is damaged or "
               "something else. Export or scan it to PDF again.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Refused("This PDF is protected by a password: upload a copy that opens "
                           "without one.")
        pages = len(reader.pages)
    except _Refused:
        raise
    except Exception as exc:  # pypdf raises many kinds on a broken or hostile file
        log.info("refused PDF upload: %s: %s", type(exc).__name__, exc)
        raise _Refused(damaged) from None
    if pages < 1:
        raise _Refused("This PDF has no pages.")
    return data


_CLEANERS: dict[str, Callable[[bytes], bytes]] = {
    "application/pdf": _pdf,
    "image/jpeg": _image("JPEG", "JPEG"),
    "image/png": _image("PNG", "PNG"),
}


def store(data: bytes) -> str:
    """Save checked bytes through the storage adapter; returns the key. The file is
    written before the row that names it is committed, so it is removed again if
    that transaction rolls back (no orphaned files)."""
    key = storage.save(data)
    on_rollback(lambda: storage.delete(key))
    return key


def clean_filename(name: str | None, default: str = "document") -> str:
    """The name as the uploader gave it, without any folder part or control characters
    (PostgreSQL refuses NUL in text), at most 200 characters."""
    printable = "".join(c for c in (name or "") if unicodedata.category(c)[0] != "C")
    base = printable.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[-200:] or default


def served_name(name: str, mime: str) -> str:
    """The uploader's name with the extension of the type the file really has:
    `cert.html` is served as `cert.pdf`, `cert.pdf\\x00.html` as `cert.pdf`."""
    safe = "".join(c for c in name if c.isalnum() or c in "._- ")[:100].strip(" .")
    extensions = EXTENSIONS.get(mime, (".bin",))
    stem, dot, ext = safe.rpartition(".")
    if dot and stem and f".{ext.lower()}" in extensions:
        return safe
    stem = (stem if dot else safe).strip(" .") or "document"
    if any(stem.lower().endswith(e) for e in extensions):
        return stem
    return stem + extensions[0]


def file_response(data: bytes, mime: str, name: str, *, inline: bool = False) -> Response:
    """A stored file as a download that the browser will not sniff or cache, named with
    the extension of its real type."""
    disposition = "inline" if inline else "attachment"
    filename = served_name(name, mime)
    ascii_name = (unicodedata.normalize("NFKD", filename).encode("ascii", "ignore")
                  .decode("ascii").strip(" .")) or "document"
    if not ascii_name.lower().endswith(EXTENSIONS.get(mime, (".bin",))):
        ascii_name = served_name(ascii_name, mime)
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(data, mimetype=mime if mime in EXTENSIONS else "application/octet-stream",
                    headers={"Content-Disposition": value, "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "private, no-store"})


# Requests carrying files ----------------------------------------------------------------

class _FirstBytes(tempfile.SpooledTemporaryFile):
    """Where a request's uploaded file goes: the first `keep` bytes are kept, the rest
    is read off the wire and dropped. One byte over the limit is enough for
    `check_upload` to say "too large", and nothing bigger sits in memory or on disk."""

    def __init__(self, keep: int):
        super().__init__(max_size=512 * 1024)
        self._room = keep

    def write(self, data) -> int:
        kept = bytes(data[:max(self._room, 0)])
        self._room -= len(kept)
        if kept:
            super().write(kept)
        return len(data)


class UploadRequest(Request):
    """Multipart forms may be bigger than MAX_CONTENT_LENGTH, up to
    UPLOAD_REQUEST_MAX_BYTES, so that a file over the upload limit still arrives
    with the rest of its form: the page can say so next to the field and keep what
    was typed, and the API can answer `too_large`. Each file keeps only
    UPLOAD_MAX_BYTES + 1 bytes; beyond UPLOAD_REQUEST_MAX_BYTES the request is refused
    with 413 before it is read."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.mimetype == "multipart/form-data":
            return current_app.config["UPLOAD_REQUEST_MAX_BYTES"]
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return _FirstBytes(current_app.config["UPLOAD_MAX_BYTES"] + 1)
