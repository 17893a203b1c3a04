"""tests/a11y/fetch_axe.py uses axe-core only if its tarball matches the lock file's
integrity hash: a flipped byte, a swapped tarball or a damaged cache is refused."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from a11y.fetch_axe import IntegrityError, axe_script, check_integrity, locked

SCRIPT = b"window.axe = {run: function () {}};\n"


def _tarball(script: bytes) -> bytes:
    """An npm-style tarball holding package/axe.min.js."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/axe.min.js")
        info.size = len(script)
        archive.addfile(info, io.BytesIO(script))
    return out.getvalue()


def _lock(tmp_path: Path, data: bytes, version: str = "9.9.9") -> Path:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    lock = tmp_path / "package-lock.json"
    entry = {"version": version, "integrity": integrity}
    lock.write_text(json.dumps({"packages": {"node_modules/axe-core": entry}}))
    return lock


def test_the_committed_lock_pins_a_sha512_integrity() -> None:
    version, integrity = locked()
    assert version == "4.14.1"
    assert integrity.startswith("sha512-")


def test_a_cached_tarball_matching_the_lock_is_used(tmp_path: Path) -> None:
    data = _tarball(SCRIPT)
    lock = _lock(tmp_path, data)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "axe-core-9.9.9.tgz").write_bytes(data)
    assert axe_script(tmp_path / "cache", lock) == SCRIPT.decode()


def test_a_flipped_byte_or_another_tarball_is_refused_and_dropped(tmp_path: Path) -> None:
    data = _tarball(SCRIPT)
    lock = _lock(tmp_path, data)
    integrity = locked(lock)[1]
    for index in (0, len(data) // 2, len(data) - 1):
        flipped = bytearray(data)
        flipped[index] ^= 0x01
        with pytest.raises(IntegrityError):
            check_integrity(bytes(flipped), integrity)
    cached = tmp_path / "cache" / "axe-core-9.9.9.tgz"
    cached.parent.mkdir()
    cached.write_bytes(_tarball(b"window.evil = 1;\n"))
    with pytest.raises(IntegrityError):
        axe_script(tmp_path / "cache", lock)
    assert not cached.exists()  # fetched again next time, never used
    with pytest.raises(IntegrityError, match="unsupported"):
        check_integrity(data, "sha1-AAAA")
