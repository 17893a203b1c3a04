"""Showing untrusted text (tips, filenames, EXIF) on a terminal without letting it
drive the terminal: control characters are shown as visible escapes."""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls except tab and newline, DEL, and the C1 controls (0x9b is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def inert(text: str) -> str:
    """`text` with every terminal control character written out as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def cell(text: str | None, style: str = "") -> Text:
    """A rich Text for a table cell or line: no markup, no control characters."""
    return Text(inert(text or ""), style=style)
