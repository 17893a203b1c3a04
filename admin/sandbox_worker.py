"""The program that runs INSIDE the bubblewrap sandbox (admin/sandbox.py starts it).

It is run as a plain script (`python -I -B sandbox_worker.py SITE JOB INPUT [ARG...]`), so it
imports nothing of ours: only the standard library and the packages in SITE (Pillow).
It reads one untrusted file, writes one result to standard output and a one-line
reason to standard error when it fails (exit 3). Everything it writes is treated as
untrusted by the caller.

Adding a job: write `def _job_NAME(path: Path, args: list[str]) -> bytes` (`args` are the
caller's plain-ASCII parameters, e.g. a page number) and list it in JOBS.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

# Formats Pillow may open here: raster formats with pure decoders. Never EPS (runs
# Ghostscript), never anything that starts an interpreter or external program.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")
# Pixels a job decodes at most; memory limits of the sandbox stop what gets past.
MAX_PIXELS = 50_000_000

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
MAKE, MODEL, DATE_TIME = 0x010F, 0x0110, 0x0132


class JobError(Exception):
    """A reason the job could not produce its result (shown to staff as text)."""


def _open_image(path: Path) -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        Image.init()
        return Image.open(path, formats=[f for f in IMAGE_FORMATS if f in Image.OPEN])
    except Exception as exc:
        raise JobError(f"not an image this tool reads ({type(exc).__name__})") from exc


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(Fraction(str(v))) if not isinstance(v, float) else v for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return round(-result if str(ref).upper() in ("S", "W") else result, 6)


def _job_image_metadata(path: Path, args: list[str]) -> bytes:
    """EXIF date, GPS position and camera of an image, as JSON."""
    with _open_image(path) as img:
        info: dict[str, Any] = {"format": img.format, "width": img.width, "height": img.height}
        exif = img.getexif()
        sub = exif.get_ifd(EXIF_IFD)
        gps = exif.get_ifd(GPS_IFD)
    date = sub.get(DATE_TIME_ORIGINAL) or exif.get(DATE_TIME)
    camera = " ".join(str(exif[t]).strip() for t in (MAKE, MODEL) if exif.get(t)) or None
    position = None
    if gps.get(2) and gps.get(4):
        lat, lon = _degrees(gps[2], gps.get(1, "N")), _degrees(gps[4], gps.get(3, "E"))
        if lat is not None and lon is not None:
            position = {"latitude": lat, "longitude": lon}
    info.update({"date_taken": str(date) if date else None, "camera": camera, "gps": position})
    return json.dumps(info, ensure_ascii=True).encode("ascii")


def _job_clean_pillow(path: Path, args: list[str]) -> bytes:
    """The image re-encoded from its pixels only, so no EXIF/XMP/comments survive."""
    from PIL import Image

    with _open_image(path) as img:
        fmt = img.format
        img.load()
        clean = Image.frombytes(img.mode, img.size, img.tobytes())
        palette = img.getpalette() if img.mode == "P" else None
    if palette is not None:
        clean.putpalette(palette)
    out = io.BytesIO()
    clean.save(out, format=fmt)
    return out.getvalue()


def _job_clean_mat2(path: Path, args: list[str]) -> bytes:
    """mat2's cleaned copy of the file."""
    mat2 = shutil.which("mat2")
    if mat2 is None:
        raise JobError("mat2 is not installed")
    done = subprocess.run([mat2, "--", str(path)], capture_output=True, check=False)
    cleaned = path.with_name(f"{path.stem}.cleaned{path.suffix}")
    if done.returncode != 0 or not cleaned.exists():
        raise JobError("mat2 does not support this file")
    return cleaned.read_bytes()


# Previews (the workspace, issue 15): raw RGB pixels only ("W H\n" then W*H*3 bytes), no
# file format, so the trusted side builds the PNG the browser sees from pixels alone.
PREVIEW_EDGE = 1024


def _pixels(img: Any) -> bytes:
    img.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    rgb = img.convert("RGB")
    pixels: bytes = rgb.tobytes()
    return f"{rgb.width} {rgb.height}\n".encode() + pixels


def _job_preview_image(path: Path, args: list[str]) -> bytes:
    """An image's first frame, scaled down, as raw RGB pixels."""
    with _open_image(path) as img:
        img.draft("RGB", (PREVIEW_EDGE, PREVIEW_EDGE))
        return _pixels(img)


def _job_preview_pdf(path: Path, args: list[str]) -> bytes:
    """A PDF's first page rendered by poppler (pdftoppm), as raw RGB pixels."""
    return _first_page_pixels(path)


def _first_page_pixels(pdf: Path) -> bytes:
    from PIL import Image

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise JobError("poppler-utils (pdftoppm) is not installed")
    out = pdf.with_name("page")
    edge = str(PREVIEW_EDGE)
    command = [
        pdftoppm,
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        "-scale-to",
        edge,
        str(pdf),
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise JobError("poppler could not render this PDF")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(out.with_suffix(".ppm"), formats=["PPM"]) as img:
        return _pixels(img)


# LibreOffice's PDF export filter per document family, asked for page 1 only (a long
# document is not converted whole just to show its first page).
OFFICE_FILTERS = {
    ".odt": "writer_pdf_Export",
    ".docx": "writer_pdf_Export",
    ".doc": "writer_pdf_Export",
    ".rtf": "writer_pdf_Export",
    ".ods": "calc_pdf_Export",
    ".xlsx": "calc_pdf_Export",
    ".odp": "impress_pdf_Export",
    ".pptx": "impress_pdf_Export",
}


def _job_preview_office(path: Path, args: list[str]) -> bytes:
    """An office document's first page: LibreOffice makes a PDF, poppler renders it."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise JobError("LibreOffice (soffice) is not installed")
    export = OFFICE_FILTERS.get(path.suffix.lower())
    if export is None:
        raise JobError("no preview for this kind of file")
    outdir = path.with_name("converted")
    page_one = '{"PageRange":{"type":"string","value":"1"}}'
    command = [
        soffice,
        f"-env:UserInstallation=file://{path.parent}/profile",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--convert-to",
        f"pdf:{export}:{page_one}",
        "--outdir",
        str(outdir),
        str(path),
    ]
    env = {**os.environ, "TMPDIR": str(path.parent)}
    subprocess.run(command, capture_output=True, check=False, stdin=subprocess.DEVNULL, env=env)
    pdf = outdir / f"{path.stem}.pdf"
    if not pdf.is_file():
        raise JobError("LibreOffice could not convert this document")
    return _first_page_pixels(pdf)


def _job_ping(path: Path, args: list[str]) -> bytes:
    """Proves the sandbox starts (callers check it before long work)."""
    return b"ok"


JOBS: dict[str, Callable[[Path, list[str]], bytes]] = {
    "ping": _job_ping,
    "preview-image": _job_preview_image,
    "preview-pdf": _job_preview_pdf,
    "preview-office": _job_preview_office,
    "image-metadata": _job_image_metadata,
    "clean-pillow": _job_clean_pillow,
    "clean-mat2": _job_clean_mat2,
}


def main(argv: list[str]) -> int:
    """Run JOB on INPUT with SITE on the import path; result on stdout."""
    site, job, source, args = argv[1], argv[2], Path(argv[3]), argv[4:]
    sys.path.insert(0, site)
    os.chdir(source.parent)
    try:
        result = JOBS[job](source, args)
    except JobError as exc:
        sys.stderr.write(f"{exc}\n")
        return 3
    except MemoryError:
        sys.stderr.write("the file needs more memory than the sandbox allows\n")
        return 3
    except Exception as exc:
        sys.stderr.write(f"the parser failed ({type(exc).__name__})\n")
        return 3
    sys.stdout.buffer.write(result)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
