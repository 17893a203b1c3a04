"""Previews of attachments as pictures made from pixels: images, PDF pages and office
documents' first pages (LibreOffice, when installed) are decoded inside the sandbox
(admin/sandbox.py), which returns raw RGB only; the PNG shown to staff is built here from
those pixels, so no byte a source chose reaches the browser's decoders. Other files get no
preview."""

from __future__ import annotations

import io
import re
import shutil
from typing import Any

from PIL import Image

from .content import looks_like_image, read_small
from .sandbox import Limits, SandboxError, run_job

PREVIEW_EDGE = 1024
_HEADER = re.compile(rb"\A(\d{1,4}) (\d{1,4})\n")
LIMITS = Limits(wall_seconds=60.0, cpu_seconds=30, output_bytes=PREVIEW_EDGE**2 * 3 + 64)
# LibreOffice maps a large program (a one-line document fails under 500 MiB of address
# space here), makes a fresh profile each time and converts before poppler renders: it
# needs more memory, time and scratch room than a picture. Still bounded, so a hostile
# document costs at most two minutes and 2 GiB.
OFFICE_LIMITS = Limits(
    memory_bytes=2 * 1024**3,
    wall_seconds=120.0,
    cpu_seconds=60,
    output_bytes=LIMITS.output_bytes,
    scratch_bytes=128 * 1024 * 1024,
)
# Office documents LibreOffice previews, by extension and by content type (a small, explicit
# list: formats staff get from sources, each opened by a Writer, Calc or Impress filter).
OFFICE_SUFFIXES = (".odt", ".docx", ".doc", ".rtf", ".ods", ".xlsx", ".odp", ".pptx")
OFFICE_TYPES = {
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/msword": ".doc",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
NO_LIBREOFFICE = (
    "LibreOffice is not installed (Debian/Ubuntu: `sudo apt install libreoffice-writer-nogui`)"
)


class NoPreview(Exception):
    """Why this file has no preview, in words for staff."""


def office_suffix(envelope: dict[str, Any]) -> str | None:
    """The office format's extension (from the name, else the content type), or None."""
    name = (envelope.get("filename") or "").lower()
    for suffix in OFFICE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return OFFICE_TYPES.get((envelope.get("content_type") or "").lower())


def preview_kind(envelope: dict[str, Any]) -> str | None:
    """'image', 'pdf', 'office' or None (no preview for this kind of file)."""
    name = (envelope.get("filename") or "").lower()
    ctype = (envelope.get("content_type") or "").lower()
    if name.endswith(".svg") or "svg" in ctype:
        return None  # a script, not a picture
    if looks_like_image(envelope):
        return "image"
    if name.endswith(".pdf") or ctype == "application/pdf":
        return "pdf"
    if office_suffix(envelope) is not None:
        return "office"
    return None


def png_from_pixels(raw: bytes) -> bytes:
    """A PNG built from the sandbox's "W H\\n" + RGB output; refuses anything else."""
    found = _HEADER.match(raw)
    if found is None:
        raise NoPreview("the sandbox returned no picture")
    width, height = int(found[1]), int(found[2])
    body = raw[found.end() :]
    if (
        not (0 < width <= PREVIEW_EDGE and 0 < height <= PREVIEW_EDGE)
        or len(body) != width * height * 3
    ):
        raise NoPreview("the sandbox returned a malformed picture")
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), body).save(out, format="PNG")
    return out.getvalue()


def make_preview(vault: Any, envelope: dict[str, Any]) -> bytes:
    """The PNG preview of an attachment, or NoPreview saying why not."""
    kind = preview_kind(envelope)
    if kind is None:
        raise NoPreview("no preview for this kind of file")
    if kind == "office" and shutil.which("soffice") is None:
        raise NoPreview(NO_LIBREOFFICE)
    data = read_small(vault, envelope)
    if data is None:
        raise NoPreview("the file is too large for a preview")
    suffix = {"pdf": ".pdf", "office": office_suffix(envelope) or ""}.get(kind, ".img")
    limits = OFFICE_LIMITS if kind == "office" else LIMITS
    try:
        raw = run_job(f"preview-{kind}", data, suffix, limits)
    except SandboxError as exc:
        raise NoPreview(exc.reason) from exc
    return png_from_pixels(raw)
