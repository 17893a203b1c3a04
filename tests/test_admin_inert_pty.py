"""`inbox` and `show` on a real pseudo-terminal, on a vault full of hostile text: what the
terminal receives holds no escape, C1 or bidirectional control that the tip sent."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault
from inert_support import HOSTILE, SGR

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).with_name("sealdrop-admin")
EVIL = "".join(HOSTILE)
# C1 controls and the bidirectional/format characters as UTF-8 bytes on the wire.
C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")
FORMAT_BYTES = re.compile(
    rb"\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0-\xaf]|\xef\xbb\xbf|\xf3\xa0[\x80-\x81]"
)


@pytest.fixture
def hostile_vault(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    """One tip whose every field a source or a compromised server controls is hostile."""
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(
        Source(),
        EVIL,
        answers={EVIL: EVIL},
        files=[(f"photo{EVIL}.jpg", EVIL, b"not really a photo")],
        received="not a day",  # the manifest's `created` stands in for it
    )
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes, created="\x1b]0;day\x07[bold]x")
    result = admin("import", str(bundle))
    assert result.exit_code == 0, result.output
    return admin


def _on_a_pty(args: list[str], env: dict[str, str]) -> bytes:
    """Run the real command with a pty as its terminal; everything the terminal got."""
    primary, secondary = os.openpty()
    # A wide window, so the hostile strings are not folded across table lines.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 3000, 0, 0))
    os.set_blocking(primary, True)
    proc = subprocess.Popen(
        [str(ADMIN), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    received = bytearray()
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        received += chunk
    os.close(primary)
    assert proc.wait(timeout=60) == 0, bytes(received)
    return bytes(received)


def _env(admin: AdminRunner, **extra: str) -> dict[str, str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return {
        **base,
        "SEALDROP_VAULT": str(admin.vault),
        "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE,
        **extra,
    }


@pytest.mark.parametrize("command", [["inbox"], ["show", "T1"], ["search", "pwned"]])
def test_no_escape_at_all_reaches_a_plain_terminal(
    hostile_vault: AdminRunner, command: list[str]
) -> None:
    out = _on_a_pty([*command, "--actor", "t"], _env(hostile_vault, TERM="dumb", NO_COLOR="1"))
    assert b"\x1b" not in out
    assert b"\x07" not in out
    assert C1_BYTES.search(out) is None
    assert FORMAT_BYTES.search(out) is None
    assert rb"\x1b]" in out  # shown as text (Rich folds a dumb terminal at 80 columns)


@pytest.mark.parametrize("command", [["inbox"], ["show", "T1"]])
def test_on_a_colour_terminal_only_rich_styling_gets_through(
    hostile_vault: AdminRunner, command: list[str]
) -> None:
    out = _on_a_pty(
        [*command, "--actor", "t"],
        _env(hostile_vault, TERM="xterm-256color", COLORTERM="truecolor"),
    )
    assert SGR.search(out) is not None  # Rich did style its own headings
    text = SGR.sub(b"", out)
    assert b"\x1b" not in text
    assert b"[bold red]ALERT[/bold red]" in text  # shown, not interpreted
    assert rb"\x1b]52;c;ZWNobyBwd25lZA==\x1b\\" in text or command[0] == "inbox"
    assert rb"\x1b]0;day\x07[bold]x" in text  # the manifest's day, made visible
    assert rb"invoice\u202egpj.exe" in text
    assert C1_BYTES.search(out) is None
    assert FORMAT_BYTES.search(out) is None


def test_show_json_escapes_c1_and_bidi(hostile_vault: AdminRunner) -> None:
    out = _on_a_pty(["show", "T1", "--json", "--actor", "t"], _env(hostile_vault, TERM="dumb"))
    assert b"\x1b" not in out
    assert C1_BYTES.search(out) is None
    assert FORMAT_BYTES.search(out) is None
    assert rb"\u009b" in out
    assert rb"\u202e" in out
