"""admin/inert.py: untrusted text rendered for a terminal, JSON, Markdown and HTML."""

from __future__ import annotations

import html
import io
import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from inert_support import HOSTILE, MD, hostile_text
from rich.console import Console

from admin import inert

HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}


def _hidden(text: str, allowed: str = "") -> list[str]:
    return [c for c in text if c not in allowed and unicodedata.category(c) in HIDDEN]


@settings(deadline=None, max_examples=300)
@given(hostile_text)
def test_terminal_text_holds_no_hidden_character(text: str) -> None:
    assert _hidden(inert.terminal(text), "\n\t") == []
    assert _hidden(inert.line(text)) == []


@settings(deadline=None)
@given(hostile_text.map(lambda t: t.replace("\t", " ")))  # Rich expands tabs
def test_rich_prints_terminal_text_literally(text: str) -> None:
    buf = io.StringIO()
    Console(file=buf, no_color=True, width=10_000, highlight=False).print(inert.cell(text))
    assert buf.getvalue() == inert.terminal(text) + "\n"


def test_known_sequences_are_shown_escaped() -> None:
    assert inert.terminal("\x1b]0;t\x07") == "\\x1b]0;t\\x07"
    assert inert.terminal("a\u202eb") == "a\\u202eb"
    assert inert.terminal("\x9b") == "\\x9b"
    assert inert.terminal("\U000e0041") == "\\U000e0041"
    assert inert.terminal("我哥哥 Hotan\n") == "我哥哥 Hotan\n"


@settings(deadline=None, max_examples=300)
@given(st.dictionaries(hostile_text, st.one_of(hostile_text, st.lists(hostile_text))))
def test_json_keeps_values_and_escapes_hidden_characters(value: dict[str, object]) -> None:
    out = inert.json_text(value)
    assert json.loads(out) == value
    assert _hidden(out, "\n") == []
    assert not any(0x80 <= ord(c) <= 0x9F or c == "\x1b" for c in out)


def _inline_text(source: str) -> tuple[set[str], str]:
    tokens = MD.parseInline(source)[0].children or []
    return {t.type for t in tokens}, "".join(t.content for t in tokens)


@settings(deadline=None, max_examples=500)
@given(hostile_text)
def test_markdown_renders_back_to_the_same_text_and_nothing_else(text: str) -> None:
    types, content = _inline_text(inert.markdown(text))
    assert types <= {"text", "text_special"}
    assert content == inert.line(text).strip(" ")


@settings(deadline=None)
@given(hostile_text)
def test_markdown_quote_is_one_quote_of_plain_paragraphs(text: str) -> None:
    tokens = MD.parse("\n".join(inert.markdown_quote(text)) + "\n")
    allowed = {"blockquote_open", "blockquote_close", "paragraph_open", "paragraph_close"}
    assert {t.type for t in tokens} <= allowed | {"inline"}
    assert [t.type for t in tokens].count("blockquote_open") == 1
    for token in tokens:
        assert {c.type for c in token.children or []} <= {"text", "text_special", "softbreak"}


def test_markdown_leaves_no_link_image_or_html() -> None:
    rendered = MD.render(inert.markdown("".join(HOSTILE)))
    assert "<a" not in rendered
    assert "<img" not in rendered
    assert "<script" not in rendered
    assert "\x1b" not in rendered
    assert "\u202e" not in rendered


@settings(deadline=None, max_examples=300)
@given(hostile_text)
def test_html_is_escaped_text(text: str) -> None:
    out = inert.html(text)
    assert "<" not in out
    assert ">" not in out
    assert '"' not in out
    assert html.unescape(out) == inert.terminal(text)
