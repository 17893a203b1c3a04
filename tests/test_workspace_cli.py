"""`sealdrop-admin workspace` as a person runs it: a real process, a real server on
loopback, the URL on a line of its own, and a clean stop on Ctrl-C that locks the vault."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from admin_support import PASSPHRASE
from workspace_support import Filled, filled_vault

ADMIN = str(Path(sys.executable).parent / "sealdrop-admin")
URL = re.compile(r"\Ahttp://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]{32})/\Z")


@pytest.fixture
def filled(tmp_path: Path, admin_kdf: object) -> Filled:
    """A vault with tips imported."""
    return filled_vault(tmp_path)


def _start(vault: Path, passphrase: str = PASSPHRASE) -> subprocess.Popen[str]:
    env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": passphrase}
    return subprocess.Popen(
        [ADMIN, "workspace", "--vault", str(vault), "--no-browser", "--actor", "Li Wei"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def running(filled: Filled) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The workspace process and the URL it printed."""
    process = _start(filled.admin.vault)
    assert process.stdout is not None
    line = process.stdout.readline().rstrip("\n")
    try:
        yield process, line
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* write them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_prints_its_url_serves_only_loopback_and_stops_cleanly(
    running: tuple[subprocess.Popen[str], str], filled: Filled
) -> None:
    process, line = running
    found = URL.match(line)
    assert found, line
    port = int(found[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
    inbox = requests.get(line, timeout=10)
    assert inbox.status_code == 200
    assert "T1" in inbox.text
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 403
    wrong = line.replace(found[2], found[2][::-1])
    assert requests.get(wrong, timeout=10).status_code == 403
    # The vault is held: a CLI command waits for the workspace to end.
    busy = filled.admin("inbox", "--vault", str(filled.admin.vault))
    assert busy.exit_code == 1
    assert "in use" in busy.output
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert process.stderr is not None
    assert "the vault is locked" in process.stderr.read()
    process.stderr.close()
    after = filled.admin("inbox", "--vault", str(filled.admin.vault), "--all")
    assert after.exit_code == 0, after.output
    with pytest.raises(requests.ConnectionError):
        requests.get(line, timeout=5)


def test_every_page_view_is_logged_under_the_actor(
    running: tuple[subprocess.Popen[str], str], filled: Filled
) -> None:
    process, line = running
    page = requests.get(line + f"source/{filled.chinese.source_id}", timeout=10)
    assert page.status_code == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    log = filled.admin("log", "--vault", str(filled.admin.vault), "--json")
    views = [e for e in json.loads(log.output)["entries"] if e["action"] == "view"]
    assert views
    assert {e["actor"] for e in views} == {"Li Wei"}


def test_a_wrong_passphrase_stops_before_serving(filled: Filled) -> None:
    process = _start(filled.admin.vault, passphrase="not the passphrase")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert out == ""
    assert "Error: wrong passphrase" in err


def test_help_has_an_example() -> None:
    done = subprocess.run(
        [ADMIN, "workspace", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Example:" in done.stdout
    assert "--no-browser" in done.stdout


def test_stopping_wipes_the_unlocked_keys(filled: Filled) -> None:
    from admin.commands.workspace import wipe_keys
    from admin.vault import open_vault

    with open_vault(filled.admin.vault, PASSPHRASE.encode(), "t") as vault:
        keys = [vault.key(name) for name in ("recipient", "signing", "vault")]
        secrets_held = [bytes(k) for k in keys]
        assert all(any(s) for s in secrets_held)
        assert wipe_keys(vault) >= 3
        assert [bytes(k) for k in keys] == [bytes(len(s)) for s in secrets_held]


def test_a_busy_port_is_a_clear_error(filled: Filled) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE}
        done = subprocess.run(
            [ADMIN, "workspace", "--vault", str(filled.admin.vault), "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr
