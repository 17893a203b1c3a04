"""QR codes drawn in text, so a phone can scan a secret off the operator's terminal."""

from __future__ import annotations

import io

import segno

# Medium error correction: still readable off a slightly blurred or glaring screen.
ERROR_LEVEL = "m"


def qr_code(text: str) -> segno.QRCode:
    """The QR code `terminal_qr` draws for TEXT."""
    return segno.make(text, error=ERROR_LEVEL, micro=False, boost_error=False)


def terminal_qr(text: str) -> str:
    """TEXT as a QR code of Unicode half blocks (two rows a line), with its quiet zone."""
    out = io.StringIO()
    # compact: half blocks and no colour codes, so it also survives a pipe or a log file.
    qr_code(text).terminal(out=out, compact=True)
    return out.getvalue()
