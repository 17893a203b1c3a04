"""The one place untrusted text (tips, file names, EXIF, anything from the server) is
made inert for where it goes: a terminal, JSON, Markdown or HTML.

Every control that can drive a terminal or reorder what a person reads is written out
as a visible escape (`\\x1b`, `\\u202e`): C0 and C1 controls (0x9b is a one-byte CSI),
DEL, format characters (category Cf: bidirectional controls, zero-width characters),
line and paragraph separators, surrogates and unassigned code points. The Markdown and
HTML forms escape their syntax on top of that.
"""

from __future__ import annotations

import html as _html
import json
import re
import unicodedata
from typing import Any

from rich.text import Text

# Categories never shown as they are: controls, format, separators, surrogates, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_KEPT = frozenset("\n\t")
# Every ASCII punctuation character can be backslash-escaped in CommonMark; escaping all
# of them leaves no link, image, autolink, heading, list, table, emphasis, HTML or entity.
_MARKDOWN_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def is_hidden(char: str) -> bool:
    """Whether `char` is a control or invisible character that must be shown escaped."""
    return unicodedata.category(char) in _HIDDEN


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, keep: frozenset[str] = _KEPT) -> str:
    """`text` with every hidden character written out as an escape (newline, tab kept)."""
    return "".join(_escape(c) if c not in keep and is_hidden(c) else c for c in text)


def terminal(text: str | None) -> str:
    """Plain text that cannot drive a terminal (print it, never as Rich markup)."""
    return visible(text or "")


def cell(text: str | None, style: str = "") -> Text:
    """A Rich Text for a table cell, title or line: never markup, no hidden characters."""
    return Text(terminal(text), style=style)


def line(text: str | None) -> str:
    """One line for a terminal or a file: hidden characters and newlines escaped."""
    return visible(text or "", keep=frozenset())


def json_text(value: Any) -> str:
    """Stable JSON (sorted keys, UTF-8, two-space indent) with hidden characters escaped."""
    raw = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
    # JSON syntax is ASCII, so every non-ASCII character is inside a string: escaping
    # it as \\uXXXX (a surrogate pair above U+FFFF) keeps the value identical.
    return "".join(_json_escape(c) if ord(c) >= 0x7F and is_hidden(c) else c for c in raw)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def markdown(text: str | None) -> str:
    """Inline Markdown that renders as exactly `line(text)` without its outer spaces and
    tabs (which Markdown would drop or read as a code block): every construct escaped."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", line(text).strip(" \t"))


def markdown_quote(text: str | None) -> list[str]:
    """A block quote of `text`, line by line, every construct escaped."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    return [f"> {markdown(part)}" if markdown(part) else ">" for part in lines]


def html(text: str | None) -> str:
    """Text for an HTML element or attribute: escaped, hidden characters visible."""
    return _html.escape(terminal(text), quote=True)
