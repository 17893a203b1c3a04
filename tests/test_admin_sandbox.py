"""The bubblewrap sandbox that parses untrusted files (admin/sandbox.py), run for real."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from admin_support import make_jpeg_with_exif
from PIL import Image
from workspace_support import minimal_odt

from admin import metadata, sandbox
from admin.previews import OFFICE_LIMITS
from admin.sandbox import JobFailed, Limits, SandboxUnavailable, run_job

PROBE = Path(__file__).with_name("sandbox_probe.py")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _heavy_png() -> bytes:
    """49 million black pixels in 140 KB: decoding and re-encoding takes seconds."""
    buf = io.BytesIO()
    Image.new("RGB", (7000, 7000)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(side: int = 60_000) -> bytes:
    """A PNG header claiming 3.6 billion pixels, with a token of compressed data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * side) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_costs_only_its_result() -> None:
    with pytest.raises(JobFailed, match=r"not an image this tool reads \(DecompressionBombError\)"):
        run_job("image-metadata", _bomb_png(), ".png")
    with pytest.raises(JobFailed, match="DecompressionBombError"):
        run_job("clean-pillow", _bomb_png(), ".png")


def test_metadata_job_reads_exif_inside_the_sandbox() -> None:
    info = json.loads(run_job("image-metadata", make_jpeg_with_exif(), ".jpg"))
    assert info["camera"] == "Huawei P30 Pro"
    assert info["gps"] == {"latitude": 39.47, "longitude": 75.99}


def test_pillow_is_never_asked_to_run_an_interpreter_format() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with Image.open(io.BytesIO(eps)) as img:  # Pillow alone would take it (and run gs)
        assert img.format == "EPS"
    with pytest.raises(JobFailed, match="not an image this tool reads"):
        run_job("image-metadata", eps, ".eps")


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run tests/sandbox_probe.py in the sandbox instead of the real worker."""
    monkeypatch.setattr(sandbox, "WORKER", PROBE)


def _outside(job: str) -> str:
    done = subprocess.run(
        [sys.executable, str(PROBE), "site", job], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_sandbox_has_no_network(probe: None) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        job = f"connect:{listener.getsockname()[1]}"
        assert _outside(job) == "allowed"
        assert run_job(job, b"", "").decode().startswith("blocked")


def test_the_sandbox_cannot_read_the_vault_or_write_the_system(probe: None, tmp_path: Path) -> None:
    secret = tmp_path / "vault" / "vault.db"
    secret.parent.mkdir()
    secret.write_bytes(b"keys and tips")
    assert _outside(f"read:{secret}") == "allowed"
    assert run_job(f"read:{secret}", b"", "").decode().strip() == "blocked FileNotFoundError"
    assert run_job(f"read:{Path.home() / '.bashrc'}", b"", "").decode().startswith("blocked")
    assert run_job("write:/usr/owned", b"", "").decode().startswith("blocked")


def test_jobs_get_plain_arguments_only(probe: None) -> None:
    assert run_job("args", b"", "", args=["3", "dpi=100"]).decode().strip() == "3 dpi=100"
    with pytest.raises(ValueError, match="plain-ASCII"):
        run_job("args", b"", "", args=["--ro-bind / /"])


def test_a_slow_parse_is_killed_at_the_wall_clock_limit() -> None:
    with pytest.raises(JobFailed, match=r"took longer than 0.3 s and was stopped"):
        run_job("clean-pillow", _heavy_png(), ".png", Limits(wall_seconds=0.3))


def test_a_parse_is_stopped_at_the_cpu_limit() -> None:
    with pytest.raises(JobFailed, match=r"stopped by a sandbox limit or crashed \(SIGXCPU\)"):
        run_job("clean-pillow", _heavy_png(), ".png", Limits(cpu_seconds=1, wall_seconds=60))


def test_a_parse_is_stopped_at_the_memory_limit() -> None:
    with pytest.raises(JobFailed, match="needs more memory than the sandbox allows"):
        run_job("clean-pillow", _heavy_png(), ".png", Limits(memory_bytes=150 * 1024 * 1024))


def test_libreoffice_is_killed_at_the_wall_clock_limit() -> None:
    limits = dataclasses.replace(OFFICE_LIMITS, wall_seconds=0.3)
    with pytest.raises(JobFailed, match=r"took longer than 0.3 s and was stopped"):
        run_job("preview-office", minimal_odt("文件"), ".odt", limits)


def test_libreoffice_stays_under_the_memory_limit() -> None:
    limits = dataclasses.replace(OFFICE_LIMITS, memory_bytes=300 * 1024 * 1024)
    with pytest.raises(JobFailed, match="LibreOffice could not convert this document"):
        run_job("preview-office", minimal_odt("文件"), ".odt", limits)


def test_output_over_the_limit_is_refused() -> None:
    with pytest.raises(JobFailed, match="output went over"):
        run_job("clean-pillow", _heavy_png(), ".png", Limits(output_bytes=1000))


def test_without_bubblewrap_nothing_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match="apt install bubblewrap"):
        run_job("image-metadata", make_jpeg_with_exif(), ".jpg")


def test_a_bwrap_that_cannot_make_namespaces_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where user namespaces are off, bwrap fails before running anything; it says so
    like this (we cannot switch them off on a shared test machine, so a script does)."""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because "
        "the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(SandboxUnavailable, match="the sandbox cannot start here") as caught:
        run_job("image-metadata", make_jpeg_with_exif(), ".jpg")
    assert "unprivileged_userns_clone=1" in caught.value.reason


@pytest.fixture
def staff_user() -> Iterator[str]:
    """A throwaway unprivileged account, as on a staff laptop."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a throwaway user")
    name = "sdsandbox"
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
    subprocess.run(["useradd", "-m", name], check=True)
    yield name
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


def test_the_sandbox_works_for_an_unprivileged_user(staff_user: str) -> None:
    """Debian's own Python and a readable copy of Pillow: the laptop's setup, not root's."""
    system_python = Path("/usr/bin/python3")
    if not system_python.exists():
        pytest.skip("needs the system Python")
    with tempfile.TemporaryDirectory() as shared:
        _run_as(staff_user, system_python, Path(shared))


def _run_as(staff_user: str, system_python: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    pil = Path(Image.__file__).parent
    shutil.copytree(pil, site / "PIL")
    if (pil.parent / "pillow.libs").is_dir():
        shutil.copytree(pil.parent / "pillow.libs", site / "pillow.libs")
    # The runner and worker too: a checkout under /root is not readable by that user.
    code = tmp_path / "code" / "admin"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    for module in ("sandbox.py", "sandbox_worker.py"):
        shutil.copy(ROOT / "admin" / module, code / module)
    (tmp_path / "photo.jpg").write_bytes(make_jpeg_with_exif())
    for path in (tmp_path, *tmp_path.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = [{str(site)!r}, {str(code.parent)!r}]
        from admin.sandbox import run_job
        assert os.geteuid() != 0
        print(run_job("image-metadata", open({str(tmp_path / "photo.jpg")!r}, "rb"), ".jpg")
              .decode())
    """)
    done = subprocess.run(
        ["runuser", "-u", staff_user, "--", str(system_python), "-I", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["camera"] == "Huawei P30 Pro"
    assert pwd.getpwnam(staff_user).pw_uid != 0


@pytest.mark.parametrize(
    "answer",
    [b"[" * 100_000 + b"]" * 100_000, b"not json", b'{"gps": {"latitude": "x"}, "camera": 5}'],
)
def test_a_taken_over_parser_cannot_crash_the_caller_with_its_answer(
    answer: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the sandbox answers (here: what a parser under an attacker's control could
    print) costs that file's metadata at most."""
    monkeypatch.setattr(metadata, "run_job", lambda *args, **kwargs: answer)
    info, why = metadata.image_metadata(b"", ".jpg")
    if info is None:
        assert why == "the parser's answer was malformed"
    else:
        assert info["gps"] is None
        assert info["camera"] is None
