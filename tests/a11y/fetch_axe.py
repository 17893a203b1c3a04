"""Fetch axe.min.js as pinned by package-lock.json, without npm: the npm registry's
tarball of the locked version, checked against the lock file's integrity hash before a
byte of it is used. (Debian 12's npm cannot always be installed beside a newer nodejs,
and the tests only need this one file.)

    python3 tests/a11y/fetch_axe.py DIR    # writes DIR/axe.min.js (and caches the tarball)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

LOCK = Path(__file__).resolve().parent / "package-lock.json"
PACKAGE = "axe-core"
MEMBER = "package/axe.min.js"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 16 * 1024 * 1024


class IntegrityError(Exception):
    """The tarball is not the one the lock file pins."""


def locked(lock: Path = LOCK) -> tuple[str, str]:
    """(version, integrity) of axe-core in the lock file."""
    entry = json.loads(lock.read_text(encoding="utf-8"))["packages"][f"node_modules/{PACKAGE}"]
    return entry["version"], entry["integrity"]


def tarball_url(version: str) -> str:
    """Where npm itself would download the locked version (SEALDROP_NPM_REGISTRY: a mirror)."""
    registry = os.environ.get("SEALDROP_NPM_REGISTRY", DEFAULT_REGISTRY).rstrip("/")
    return f"{registry}/{PACKAGE}/-/{PACKAGE}-{version}.tgz"


def check_integrity(data: bytes, integrity: str) -> None:
    """Raise IntegrityError unless DATA matches the Subresource Integrity string."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise IntegrityError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
    if actual != expected:
        raise IntegrityError(
            f"{PACKAGE} tarball: {algorithm} {actual} is not the locked {expected}"
        )


def extract_axe(data: bytes) -> bytes:
    """axe.min.js from a checked tarball."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise IntegrityError(f"{MEMBER} is not a file in the tarball")
        return member.read()


def _download(url: str, path: Path) -> None:
    """URL's bytes to PATH, whole or not at all."""
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read(MAX_TARBALL_BYTES + 1)
    if len(data) > MAX_TARBALL_BYTES:
        raise IntegrityError(f"{url} is larger than {MAX_TARBALL_BYTES} bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def axe_script(cache_dir: Path, lock: Path = LOCK) -> str:
    """axe.min.js of the locked version; the tarball is cached in CACHE_DIR and checked
    against the lock file's integrity hash every time it is used."""
    version, integrity = locked(lock)
    tarball = cache_dir / f"{PACKAGE}-{version}.tgz"
    if not tarball.exists():
        _download(tarball_url(version), tarball)
    data = tarball.read_bytes()
    try:
        check_integrity(data, integrity)
    except IntegrityError:
        tarball.unlink()  # a damaged download is fetched again next time
        raise
    return extract_axe(data).decode("utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tests/a11y/fetch_axe.py DIR")
    target = Path(sys.argv[1])
    (target / "axe.min.js").write_text(axe_script(target), encoding="utf-8")
    print(target / "axe.min.js")
