"""Previews of attachments as pictures made from pixels: images and PDF pages are decoded
inside the sandbox (admin/sandbox.py), which returns raw RGB only; the PNG shown to staff
is built here from those pixels, so no byte a source chose reaches the browser's decoders.
Other files get no preview."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image

from .content import looks_like_image, read_small
from .sandbox import Limits, SandboxError, run_job

PREVIEW_EDGE = 1024
_HEADER = re.compile(rb"\A(\d{1,4}) (\d{1,4})\n")
LIMITS = Limits(wall_seconds=60.0, cpu_seconds=30, output_bytes=PREVIEW_EDGE**2 * 3 + 64)


class NoPreview(Exception):
    """Why this file has no preview, in words for staff."""


def preview_kind(envelope: dict[str, Any]) -> str | None:
    """'image', 'pdf' or None (no preview for this kind of file)."""
    name = (envelope.get("filename") or "").lower()
    ctype = (envelope.get("content_type") or "").lower()
    if name.endswith(".svg") or "svg" in ctype:
        return None  # a script, not a picture
    if looks_like_image(envelope):
        return "image"
    if name.endswith(".pdf") or ctype == "application/pdf":
        return "pdf"
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
    data = read_small(vault, envelope)
    if data is None:
        raise NoPreview("the file is too large for a preview")
    suffix = ".pdf" if kind == "pdf" else ".img"
    try:
        raw = run_job(f"preview-{kind}", data, suffix, LIMITS)
    except SandboxError as exc:
        raise NoPreview(exc.reason) from exc
    return png_from_pixels(raw)
