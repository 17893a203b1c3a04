"""Fault: a full disk during an upload, and the free-space reserve that keeps it from
happening, through a real `sealdrop serve`.

The envelope storage is a small tmpfs mounted over DIR/storage (root may mount here), or,
where mounting is not allowed, the same server with RLIMIT_FSIZE on its processes. A full
disk gives a clear page, nothing partial is left, and the service keeps serving. With the
reserve set, tips are refused before the disk fills, whether the upload declares its length
or is chunked."""

from __future__ import annotations

import os
import re
import resource
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from proof_support import (
    Offline,
    base_url,
    descendants,
    form_token,
    holdings,
    make_offline,
    served,
    submit_real,
)

from intake.config import ConfigError, load_config
from intake.instance import create_instance

pytestmark = pytest.mark.slow
MiB = 1024 * 1024
REFUSED = "Nothing was kept"


@contextmanager
def small_disk(storage: Path, size: int) -> Iterator[None]:
    """A tmpfs of `size` bytes over DIR/storage (skips the test if mounting is not allowed)."""
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(storage)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the rlimit case runs")
    try:
        (storage / "tmp").mkdir(mode=0o700)
        yield
    finally:
        subprocess.run(["umount", "-l", str(storage)], check=False)


def set_reserve(instance: Path, reserve: int) -> None:
    """[storage] reserve_free_bytes in config.toml."""
    config = instance / "config.toml"
    text, count = re.subn(
        r"(?m)^reserve_free_bytes = \d+$", f"reserve_free_bytes = {reserve}", config.read_text()
    )
    assert count == 1
    config.write_text(text)


@pytest.fixture
def offline(tmp_path: Path) -> Offline:
    """The admin's vault."""
    return make_offline(tmp_path / "offline")


@pytest.fixture
def disk_instance(tmp_path: Path, offline: Offline, argon2_cost, database_url) -> Path:  # type: ignore[no-untyped-def]
    """An instance sealing to the vault's keys."""
    directory = tmp_path / "instance"
    create_instance(directory, offline.identity_text, argon2_cost, database_url)
    return directory


def _post_file(url: str, size: int, chunked: bool = False) -> requests.Response:
    session = requests.Session()
    token = form_token(session, url)
    fields = [
        ("csrf_token", (None, token)),
        ("narrative", (None, "A video of the raid.")),
        ("files", ("raid.mp4", os.urandom(size), "video/mp4")),
    ]
    prepared = requests.Request("POST", url + "/submit", files=fields).prepare()
    body = prepared.body
    assert isinstance(body, bytes)
    if chunked:
        del prepared.headers["Content-Length"]

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(body), 256 * 1024):
                yield body[start : start + 256 * 1024]

        prepared.body = pieces()
        prepared.headers["Transfer-Encoding"] = "chunked"
    prepared.prepare_cookies(session.cookies)
    return session.send(prepared, timeout=120)


def _assert_nothing_partial(instance: Path, database_url: str | None) -> None:
    now = holdings(instance, database_url)
    assert now.tmp_files == ()
    assert now.files == ()
    assert (now.sources, now.envelopes) == (0, 0)


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_a_full_disk_mid_upload_gives_a_clear_page_and_leaves_nothing(
    how: str, tmp_path: Path, disk_instance: Path, offline: Offline, database_url: str | None
) -> None:
    set_reserve(disk_instance, 0)  # the reserve off: the disk really fills
    storage = load_config(disk_instance).storage_dir
    with small_disk(storage, 4 * MiB) if how == "tmpfs" else _no_mount():
        with served(tmp_path, disk_instance, database_url) as server:
            if how == "rlimit":
                for pid in descendants(server.process.pid):
                    resource.prlimit(pid, resource.RLIMIT_FSIZE, (6 * MiB, 6 * MiB))
            url = base_url(server)
            full = _post_file(url, 10 * MiB)
            assert full.status_code == 503, full.text[-800:]
            assert REFUSED in full.text
            assert "<html" in full.text
            assert "Traceback" not in full.text
            _assert_nothing_partial(disk_instance, database_url)
            # The service keeps serving, and a tip that fits is stored.
            assert requests.get(url + "/", timeout=30).status_code == 200
            narrative = "A short tip after the disk was full."
            ok = submit_real(url, narrative, [("page.jpg", os.urandom(100_000))])
            assert ok.status_code == 200, ok.text[-500:]
            assert holdings(disk_instance, database_url).consistent
            assert "submission not stored" in server.output  # the operator is told why
        offline.carry(disk_instance, "after-full")
    assert [tip["first_words"] for tip in offline.inbox()] == [narrative]


@contextmanager
def _no_mount() -> Iterator[None]:
    yield


def test_the_reserve_refuses_tips_before_the_disk_fills(
    tmp_path: Path, disk_instance: Path, offline: Offline, database_url: str | None
) -> None:
    storage = load_config(disk_instance).storage_dir
    set_reserve(disk_instance, 8 * MiB)
    with small_disk(storage, 16 * MiB):
        with served(tmp_path, disk_instance, database_url) as server:
            url = base_url(server)
            # Declared length: refused before a byte is sealed.
            declared = _post_file(url, 10 * MiB)
            assert declared.status_code == 503, declared.text[-500:]
            assert REFUSED in declared.text
            _assert_nothing_partial(disk_instance, database_url)
            # No declared length (chunked): refused while streaming, once the reserve is hit.
            chunked = _post_file(url, 10 * MiB, chunked=True)
            assert chunked.status_code == 503, chunked.text[-500:]
            assert REFUSED in chunked.text
            _assert_nothing_partial(disk_instance, database_url)
            # What fits above the reserve is accepted.
            narrative = "This one fits."
            fits = submit_real(url, narrative, [("small.jpg", os.urandom(2 * MiB))])
            assert fits.status_code == 200, fits.text[-500:]
        offline.carry(disk_instance, "reserve")  # while the envelopes are on the tmpfs
    assert [tip["first_words"] for tip in offline.inbox()] == [narrative]


def test_the_reserve_is_a_config_value_written_by_init(tmp_path: Path, admin_keys, argon2_cost):  # type: ignore[no-untyped-def]
    directory = tmp_path / "instance"
    create_instance(directory, admin_keys.identity.to_text(), argon2_cost)
    assert load_config(directory).storage.reserve_free_bytes == 512 * MiB
    assert "[storage]" in (directory / "config.toml").read_text()
    set_reserve(directory, 3 * MiB)
    assert load_config(directory).storage.reserve_free_bytes == 3 * MiB
    config = directory / "config.toml"
    config.write_text(config.read_text().replace("= 3145728", '= "lots"'))
    with pytest.raises(ConfigError, match=r"\[storage\] reserve_free_bytes"):
        load_config(directory)
