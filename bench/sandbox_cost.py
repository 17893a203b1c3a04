"""What parsing in the bubblewrap sandbox costs: one photo's EXIF read in the sandbox
(admin.sandbox.run_job "image-metadata") beside the same read in-process with Pillow,
and a photo's metadata stripped in the sandbox with mat2 beside mat2 run directly.

Run: `python -m bench sandbox`. The photo is a 12-megapixel JPEG with EXIF (about what a
phone takes). Each figure is the median of several runs, so one slow moment on the shared
machine does not decide it.
"""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

from PIL import Image

from admin.sandbox import run_job
from bench.harness import BenchResult, Figure, sized, workdir

COMMAND = "python -m bench sandbox"


def photo(width: int, height: int) -> bytes:
    """A JPEG of noise with camera and date EXIF."""
    img = Image.effect_noise((width, height), 64).convert("RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Huawei", "P30 Pro"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def median_seconds(repeat: int, work: Callable[[], object]) -> float:
    """Median wall time of `work` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process_exif(data: bytes) -> object:
    """What the tool did before the sandbox: Pillow in our own process."""
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif())


def run() -> None:
    """EXIF in the sandbox vs in-process; mat2 in the sandbox vs mat2 directly."""
    result = BenchResult("sandbox")
    width, height = sized(4000, 1000), sized(3000, 750)
    data = photo(width, height)
    repeat = sized(15, 5)
    sandboxed = median_seconds(repeat, lambda: run_job("image-metadata", data, ".jpg"))
    direct = median_seconds(repeat, lambda: in_process_exif(data))
    result.add(
        Figure(
            name=f"EXIF of one {width}x{height} JPEG ({len(data) // 1024} KiB), in the sandbox",
            value=sandboxed * 1000,
            unit="ms",
            baseline="Pillow getexif() in-process",
            baseline_value=direct * 1000,
            ratio=sandboxed / direct,
            command=COMMAND,
            notes="the difference is the sandbox's start-up, paid once per file",
        )
    )
    mat2 = shutil.which("mat2")
    if mat2 is not None:
        with workdir("sandbox") as tmp:
            src = tmp / "photo.jpg"
            src.write_bytes(data)

            def mat2_direct() -> None:
                (tmp / "photo.cleaned.jpg").unlink(missing_ok=True)
                subprocess.run([mat2, "--", str(src)], check=True, capture_output=True)

            plain = median_seconds(sized(5, 3), mat2_direct)
        boxed = median_seconds(sized(5, 3), lambda: run_job("clean-mat2", data, ".jpg"))
        result.add(
            Figure(
                name="mat2 cleaning of the same JPEG, in the sandbox",
                value=boxed * 1000,
                unit="ms",
                baseline="mat2 run directly",
                baseline_value=plain * 1000,
                ratio=boxed / plain,
                command=COMMAND,
            )
        )
    result.details = {"jpeg_bytes": len(data), "repeat": repeat}
    result.save()
