"""Metadata that matters for verification: EXIF date, GPS position and camera of images."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

from PIL import Image, UnidentifiedImageError

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
MAKE, MODEL, DATE_TIME = 0x010F, 0x0110, 0x0132


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(Fraction(str(v))) if not isinstance(v, float) else v for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return round(-result if str(ref).upper() in ("S", "W") else result, 6)


def image_metadata(data: bytes) -> dict[str, Any] | None:
    """EXIF date, GPS and camera of an image, or None if it is not an image Pillow reads."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            info: dict[str, Any] = {"format": img.format, "width": img.width, "height": img.height}
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    sub = exif.get_ifd(EXIF_IFD)
    date = sub.get(DATE_TIME_ORIGINAL) or exif.get(DATE_TIME)
    camera = " ".join(str(exif[t]).strip() for t in (MAKE, MODEL) if exif.get(t)) or None
    gps = exif.get_ifd(GPS_IFD)
    position = None
    if gps.get(2) and gps.get(4):
        lat, lon = _degrees(gps[2], gps.get(1, "N")), _degrees(gps[4], gps.get(3, "E"))
        if lat is not None and lon is not None:
            position = {"latitude": lat, "longitude": lon}
    info.update({"date_taken": str(date) if date else None, "camera": camera, "gps": position})
    return info
