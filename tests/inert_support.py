"""Hostile text for the inert-output tests: terminal escapes, bidi controls, Markdown,
HTML and Rich markup, as a source or a compromised server would send them."""

from __future__ import annotations

import html
import re

from hypothesis import strategies as st
from markdown_it import MarkdownIt

HOSTILE = (
    "\x1b]0;pwned title\x07",  # OSC: set the window title
    "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\",  # OSC 52: write the clipboard, ST-terminated
    "\x1bP+q544e\x1b\\",  # DCS ... ST
    "\x1b[2J\x1b[H",  # CSI: clear the screen, cursor home
    "\x1b]8;;https://attacker.example/\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x9b31m",  # C1 CSI (one byte)
    "\x9d0;c1 title\x9c",  # C1 OSC ... C1 ST
    "\x85",  # NEL
    "invoice\u202egpj.exe",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066\u2069\u200f\u200b\ufeff\u2028\u2029",
    "\U000e0041",  # a tag character (format, above the BMP)
    "[bold red]ALERT[/bold red]",
    "[link=https://attacker.example]x[/link]",
    "![b](https://attacker.example/beacon.png)",
    "[click](javascript:alert(1))",
    "<https://attacker.example/auto>",
    "https://attacker.example/bare www.google.com a@gmail.com",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "# heading",
    "\n===\n",
    "| a | b |\n|---|---|",
    "`code` ```fence",
    "&amp; &#x3c; &lt;",
    "[ref]: https://attacker.example/",
    "\\",
    "    indented",
    "\r\n",
    "\x00\x7f",
)

hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=8).map(
    "".join
)

# Rich's own styling: Select Graphic Rendition sequences only (ESC [ digits;... m).
SGR = re.compile(rb"\x1b\[[0-9;]*m")

# CommonMark plus GFM tables, strikethrough and bare-URL links (linkify): the Markdown
# viewer most likely to turn text into something live.
MD = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])


def rendered_text(markdown: str) -> str:
    """What a person reads when a Markdown viewer shows `markdown` (tags dropped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", MD.render(markdown)))
