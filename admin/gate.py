"""The one validation gate: every field an envelope's sealed metadata carries passes here
before the vault keeps it (docs/admin.md, "What import accepts").

The server and the source are both untrusted. Fields the vault relies on (kind, source,
answers) must be well formed or the envelope is skipped (it stays on the server, nothing
is lost); descriptive fields (day, file name, content type, language, submission id) that
fail are replaced by a safe value and the envelope is flagged. The sealed original stays
in the vault's stored copy. Flags and reasons are fixed texts: no untrusted byte in them.
The manifest's own rules (ids, sizes, hashes, its `created` day) are the bundle format's,
checked by crypto/bundle.py before anything reaches this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crypto.bundle import ManifestEntry, parse_day
from crypto.errors import FormatError

MAX_NARRATIVE_BYTES = 16 * 1024 * 1024
MAX_ANSWERS = 200
MAX_ANSWER_CHARS = 100_000
MAX_CHOICES = 100
MAX_FILENAME_CHARS = 255  # what the server accepts
MAX_CONTENT_TYPE_CHARS = 255
MAX_LANGUAGE_CHARS = 35
FALLBACK_CONTENT_TYPE = "application/octet-stream"
KNOWN_FIELDS = frozenset(
    {
        "kind",
        "source_id",
        "reply_public_key",
        "received",
        "submission_id",
        "language",
        "answers",
        "filename",
        "content_type",
    }
)
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_QUESTION = re.compile(r"\A[a-z][a-z0-9_]{0,39}\Z")  # the questionnaire's id grammar
# RFC 6838 §4.2 restricted-name, lowercase (the intake lowercases what a browser sends).
_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_CONTENT_TYPE = re.compile(rf"\A{_NAME}/{_NAME}\Z")
_LANGUAGE = re.compile(r"\A[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,3}\Z")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Rejected(Exception):
    """The envelope cannot be kept; the reason (fixed text) is shown to staff."""


@dataclass
class Admitted:
    """An envelope's metadata after the gate: every value checked, every repair flagged."""

    kind: str
    submission_id: str
    received: str
    answers: dict[str, str | list[str]]
    filename: str | None
    content_type: str | None
    language: str | None
    flags: list[str] = field(default_factory=list)


def manifest_day(created: str) -> str:
    """The manifest's day, checked again here because a tip may take it as its own."""
    try:
        parse_day(created, "the manifest's created day")
    except FormatError as exc:
        raise Rejected(str(exc)) from exc
    return created


def _day(meta: dict[str, Any], fallback: str, flags: list[str]) -> str:
    if "received" not in meta:
        flags.append("no day received: the bundle's day is used")
        return fallback
    try:
        parse_day(meta["received"], "received")
    except FormatError:
        flags.append("its day received is not a YYYY-MM-DD date: the bundle's day is used")
        return fallback
    return str(meta["received"])


def _answer(value: Any) -> str | list[str]:
    if isinstance(value, str):
        if len(value) > MAX_ANSWER_CHARS:
            raise Rejected(f"an answer is longer than {MAX_ANSWER_CHARS} characters")
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if len(value) > MAX_CHOICES or any(len(v) > MAX_ANSWER_CHARS for v in value):
            raise Rejected("an answer lists too many or too long choices")
        return list(value)
    raise Rejected("an answer is neither text nor a list of texts")


def _answers(meta: dict[str, Any]) -> dict[str, str | list[str]]:
    answers = meta.get("answers", {})
    if not isinstance(answers, dict):
        raise Rejected("its questionnaire answers are malformed")
    if len(answers) > MAX_ANSWERS:
        raise Rejected(f"it has more than {MAX_ANSWERS} questionnaire answers")
    checked: dict[str, str | list[str]] = {}
    for question, value in answers.items():
        if not _QUESTION.match(question):
            raise Rejected("a questionnaire answer names a question id that is not valid")
        checked[question] = _answer(value)
    return checked


def _filename(meta: dict[str, Any], entry: ManifestEntry, flags: list[str]) -> str:
    name = meta.get("filename")
    fallback = f"{entry.envelope_id}.bin"
    if not isinstance(name, str) or not name:
        flags.append("no file name: a name was made from the envelope id")
        return fallback
    last = re.split(r"[/\\]", name)[-1]  # the intake refuses paths; a browser sends the last part
    if last != name:
        flags.append("its file name held a path: only its last part is kept")
        name = last
    bad = (
        not name
        or len(name) > MAX_FILENAME_CHARS
        or name in (".", "..")
        or _CONTROLS.search(name) is not None
        or any(0xD800 <= ord(c) <= 0xDFFF for c in name)
    )
    if bad:
        flags.append(
            "its file name was empty, too long or held control characters: "
            "a name was made from the envelope id"
        )
        return fallback
    return name


def _content_type(meta: dict[str, Any], flags: list[str]) -> str:
    value = meta.get("content_type")
    if (
        isinstance(value, str)
        and len(value) <= MAX_CONTENT_TYPE_CHARS
        and _CONTENT_TYPE.match(value)
    ):
        return value
    flags.append(f"its content type is not a type/subtype name: {FALLBACK_CONTENT_TYPE} is used")
    return FALLBACK_CONTENT_TYPE


def _language(meta: dict[str, Any], flags: list[str]) -> str | None:
    value = meta.get("language")
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= MAX_LANGUAGE_CHARS and _LANGUAGE.match(value):
        return value
    flags.append("its language is not a language tag: left out")
    return None


def admit(meta: Any, entry: ManifestEntry, fallback_day: str) -> Admitted:
    """Check one envelope's sealed metadata against its manifest entry."""
    if not isinstance(meta, dict):
        raise Rejected("its metadata is not an object")
    kind = meta.get("kind")
    if kind not in ("message", "file"):
        raise Rejected("its kind is neither message nor file")
    if meta.get("source_id") != entry.source_id:
        raise Rejected("its sealed source id does not match the bundle manifest")
    flags: list[str] = []
    unknown = len(set(meta) - KNOWN_FIELDS)
    if unknown:
        flags.append(f"{unknown} unknown metadata field(s) ignored")
    submission = meta.get("submission_id")
    if not (isinstance(submission, str) and _HEX32.match(submission)):
        flags.append("no valid submission id: the envelope is a tip of its own")
        submission = entry.envelope_id
    received = _day(meta, manifest_day(fallback_day), flags)
    language = _language(meta, flags)
    if kind == "message":
        return Admitted(kind, submission, received, _answers(meta), None, None, language, flags)
    filename = _filename(meta, entry, flags)
    content_type = _content_type(meta, flags)
    return Admitted(kind, submission, received, {}, filename, content_type, language, flags)


def message_text(data: bytes | bytearray) -> str:
    """A message's text: UTF-8, at most MAX_NARRATIVE_BYTES, no lone surrogates."""
    if len(data) > MAX_NARRATIVE_BYTES:
        raise Rejected("its message text is larger than 16 MiB")
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("its message text is not valid UTF-8") from exc
