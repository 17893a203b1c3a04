"""`sealdrop staff add` draws the otpauth:// URI as a QR code in the terminal: the drawing,
read back module by module and decoded by a real QR reader (zbar), is the exact URI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from transfer_support import sealdrop

from intake.terminal_qr import qr_code

# Half blocks: each character is two modules, the upper and the lower one.
_HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}


def _qr_block(output: str) -> list[str]:
    """The lines of the terminal drawing (only half-block characters and spaces)."""
    lines = [line for line in output.splitlines() if line and set(line) <= set(_HALVES)]
    assert lines, output
    return lines


def _modules(block: list[str]) -> list[list[bool]]:
    """Rows of modules, True for a dark module; the quiet zone's corner tells polarity."""
    rows: list[list[bool]] = []
    for line in block:
        pairs = [_HALVES[char] for char in line]
        rows.append([top for top, _ in pairs])
        rows.append([bottom for _, bottom in pairs])
    light = rows[0][0]
    return [[module != light for module in row] for row in rows]


def _decode(modules: list[list[bool]], workdir: Path) -> str:
    """Decode the drawing with zbarimg, as a phone's camera would read the screen."""
    scale = 8
    image = Image.new("L", (len(modules[0]) * scale, len(modules) * scale), 255)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                image.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    png = workdir / "qr.png"
    image.save(png)
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.rstrip("\n")


def test_staff_add_shows_the_totp_uri_as_a_qr_code(instance: Path, tmp_path: Path) -> None:
    result = sealdrop("staff", "add", "--instance", str(instance), "amina")
    assert result.exit_code == 0, result.output
    uri = re.search(r"(otpauth://totp/\S+)", result.output).group(1)  # type: ignore[union-attr]
    modules = _modules(_qr_block(result.output))
    # The drawing is segno's QR code of exactly this URI, module for module (plus the
    # quiet zone around it).
    expected = [[bool(m) for m in row] for row in qr_code(uri).matrix]
    border = (len(modules[0]) - len(expected[0])) // 2
    inner = [row[border:-border] for row in modules[border : border + len(expected)]]
    assert inner == expected
    assert not any(any(row) for row in modules[:border])
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (.ci/run installs zbar-tools)")
    assert _decode(modules, tmp_path) == uri
