"""Real small documents and hostile look-alikes, built in the test run (no binaries in git)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image
from pypdf import PdfWriter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def png(width: int = 12, height: int = 8, color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 16, height: int = 8, color=(40, 90, 200), *, gps: bool = False,
         orientation: int | None = None) -> bytes:
    """A JPEG; with `gps`, EXIF saying where it was taken (as phone cameras write it)."""
    exif = Image.Exif()
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (32.0, 46.0, 45.0), 3: "W", 4: (96.0, 48.0, 11.0)}
        exif[0x010F] = "PhoneMaker"            # Make
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def pdf(pages: int = 1, title: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    if title:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt(user_password=user_password, owner_password="owner-secret",
                   algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of width x height zero pixels: ~50 kB that decodes to
    400 megapixels (1.2 GB as RGB)."""
    packer = zlib.compressobj(9)
    row = b"\x00" + bytes((width + 7) // 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (PNG_MAGIC + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


PHP = b"<?php system($_GET['cmd']); ?>\n"
HTML = b"<html><body><script>fetch('/api/v1/me').then(r => r.text())</script></body></html>\n"


def hostile() -> dict[str, bytes]:
    """Files that start like an accepted type (or are empty) and must all be refused."""
    return {
        "decompression bomb": png_bomb(),
        "decompression bomb within Pillow's hard limit": png_bomb(8_000, 6_000),
        "PNG header + PHP": PNG_MAGIC + PHP,
        "PDF header + HTML": b"%PDF-1.7\n" + HTML,
        "truncated JPEG": jpeg()[:12],
        "JPEG cut in half": jpeg(64, 64)[:300],
        "zero bytes": b"",
        "password-protected PDF": encrypted_pdf("secret"),
        "PDF without pages": pdf(pages=0),
    }


def real() -> dict[str, tuple[bytes, str]]:
    """Small genuine documents and the type each must be stored as."""
    return {"png": (png(), "image/png"), "jpeg": (jpeg(), "image/jpeg"),
            "pdf": (pdf(), "application/pdf")}
