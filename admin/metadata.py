"""Metadata that matters for verification (EXIF date, GPS position, camera of images),
read in the sandbox: a file that crashes, hangs or bombs the parser costs its metadata."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .sandbox import Limits, SandboxError, run_job

MAX_TEXT = 200
# A photo's answer is a few hundred bytes of JSON.
LIMITS = Limits(output_bytes=64 * 1024)


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def _number(value: Any, low: float, high: float) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    return float(value) if ok else None


def _checked(raw: bytes) -> dict[str, Any] | None:
    """The sandbox's answer is untrusted: keep only well-formed fields of the right types."""
    try:
        info = json.loads(raw)
    except (ValueError, RecursionError):  # a parser taken over could answer anything
        return None
    if not isinstance(info, dict):
        return None
    gps = info.get("gps")
    position = None
    if isinstance(gps, dict):
        lat = _number(gps.get("latitude"), -90, 90)
        lon = _number(gps.get("longitude"), -180, 180)
        if lat is not None and lon is not None:
            position = {"latitude": lat, "longitude": lon}
    size = [info.get(k) for k in ("width", "height")]
    return {
        "format": _text(info.get("format")),
        "width": size[0] if isinstance(size[0], int) else None,
        "height": size[1] if isinstance(size[1], int) else None,
        "date_taken": _text(info.get("date_taken")),
        "camera": _text(info.get("camera")),
        "gps": position,
    }


def image_metadata(source: bytes | BinaryIO, suffix: str) -> tuple[dict[str, Any] | None, str]:
    """(metadata, "") or (None, why not) for an image given as bytes or an open file."""
    try:
        raw = run_job("image-metadata", source, suffix, LIMITS)
    except SandboxError as exc:
        return None, exc.reason
    info = _checked(raw)
    return (info, "") if info is not None else (None, "the parser's answer was malformed")
