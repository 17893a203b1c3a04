"""Streaming parse of the submission form (multipart/form-data), without temp files.

Werkzeug's form parser spools large files to a temporary file; this one hands every file
part's bytes to a sink (which seals them) as they arrive, and keeps only the small text
fields in memory, bounded while parsing (the multipart syntax: intake/multipart.py). The
CSRF token must be the first part, so a forged request is refused before any file byte is
sealed.

When the token is missing or has expired (Tor Browser's New Identity drops the cookie it
is checked against), nothing is sealed either, but the text fields are still read, into
memory only, so the page can show them back (`FormExpired`): a long account is not lost.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Protocol

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from . import messages
from .config import Limits
from .multipart import MultipartScanner, TooManyParts
from .questionnaire import Questionnaire

# How much the parser asks the body for at a time. gunicorn receives up to 1 MiB per recv
# and copies what a read leaves over again on every read, so small reads cost CPU: the
# request thread spent 3.0-3.4 s per uploaded GiB reading 256 KiB at a time, 2.2-2.4 s
# reading 1 MiB. But a read returns only once it is full, and a slow upload's thread holds
# that much while it waits: 200 uploads at 50 KB/s peaked at 545 MiB RSS with 256 KiB reads,
# 1440 MiB with 1 MiB. So reads start small and grow only while the body arrives fast (a
# full read in under FAST_READ_SECONDS, about 13 MB/s: a LAN, never a Tor circuit), and
# shrink again as soon as it slows. (`python -m bench upload` / `slow`,
# docs/performance.md.)
READ_BYTES = 256 * 1024
FAST_READ_BYTES = 1024 * 1024
FAST_READ_SECONDS = 0.02
CSRF_FIELD = "csrf_token"
HONEYPOT_FIELD = "website"
NARRATIVE_FIELD = "narrative"
FILES_FIELD = "files"
MAX_TOKEN_BYTES = 512
MAX_CONTENT_TYPE = 100
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")


class UploadRejected(Exception):
    """The submission is refused; `status` and a message the source can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.status = status
        self.message = message


class FormExpired(UploadRejected):
    """The CSRF check failed; `fields` holds what was typed, for this response only."""

    def __init__(self, fields: TextFields) -> None:
        super().__init__(400, str(messages.CSRF_FAILED))
        self.fields = fields


class FileSink(Protocol):
    """Where file bytes go (the sealing submission writer)."""

    def start_file(self, filename: str, content_type: str) -> None: ...
    def write(self, data: bytes) -> None: ...
    def end_file(self) -> None: ...


@dataclass
class TextFields:
    """The text part of a submission."""

    narrative: str = ""
    answers: dict[str, str | list[str]] = field(default_factory=dict)
    files: int = 0
    empty_files: int = 0  # files that arrived with 0 bytes (kept, and the source is told)


def boundary_of(content_type: str, options: dict[str, str]) -> bytes:
    """The multipart boundary, or UploadRejected if this is not a form upload."""
    boundary = options.get("boundary", "")
    if content_type != "multipart/form-data" or not _BOUNDARY.fullmatch(boundary):
        raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
    return boundary.encode("ascii")


def check_filename(name: str, limits: Limits) -> str:
    """Accept a file's name only if it is a plain name: no path, no control characters."""
    if len(name) > limits.max_filename_chars:
        raise UploadRejected(400, str(messages.BAD_FILENAME))
    if name in (".", "..") or "/" in name or "\\" in name:
        raise UploadRejected(400, str(messages.BAD_FILENAME))
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise UploadRejected(400, str(messages.BAD_FILENAME))
    # Format controls (U+202E RIGHT-TO-LEFT OVERRIDE, zero-width characters, ...) and line
    # separators make a name show as something else ("photo\u202egpj.exe" reads
    # "photoexe.jpg"): refused like the other control characters, with their own message.
    if any(unicodedata.category(char) in ("Cf", "Zl", "Zp") for char in name):
        raise UploadRejected(400, str(messages.INVISIBLE_FILENAME))
    return name


def clean_content_type(value: str | None) -> str:
    """The browser's claim about a file's type, if it looks like one (metadata only)."""
    value = (value or "").split(";", 1)[0].strip()
    if len(value) <= MAX_CONTENT_TYPE and _CONTENT_TYPE.fullmatch(value):
        return value.lower()
    return "application/octet-stream"


class _Parser:
    """One pass over one request body."""

    def __init__(
        self,
        limits: Limits,
        questionnaire: Questionnaire,
        check_csrf: Callable[[str], None],
        sink: FileSink,
        require_narrative: bool,
    ) -> None:
        self.limits = limits
        self.questionnaire = questionnaire
        self.check_csrf = check_csrf
        self.sink = sink
        self.require_narrative = require_narrative
        self.fields = TextFields()
        self.total = 0
        self.csrf_ok = False
        self.csrf_failed = False  # then nothing is sealed, the text is only read back
        self.honeypot = False
        self.part_name: str | None = None
        self.part_is_file = False
        self.discarding = False
        self.part_size = 0
        self.buffer = bytearray()
        self.buffer_limit = 0

    def _field_limit(self, name: str) -> int:
        if name == CSRF_FIELD:
            return MAX_TOKEN_BYTES
        if name == NARRATIVE_FIELD:
            return self.limits.max_narrative_chars * 4
        if name == HONEYPOT_FIELD:
            return 1024
        if self.questionnaire.by_field(name) is None:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
        return self.limits.max_answer_chars * 4

    def start_field(self, name: str) -> None:
        if not self.csrf_ok and name != CSRF_FIELD:
            self.csrf_failed = True
        self.part_name, self.part_is_file = name, False
        self.buffer_limit = self._field_limit(name)
        self.buffer.clear()

    def start_file(self, name: str, filename: str, content_type: str | None) -> None:
        if not self.csrf_ok:
            # Not one byte of a file without a valid token: read past it, keep nothing.
            self.csrf_failed = True
            self.part_name, self.part_is_file, self.discarding = None, True, True
            if filename:
                self.fields.files += 1  # to say how many must be attached again
            return
        self.discarding = False
        if name != FILES_FIELD:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
        if self.honeypot:
            raise UploadRejected(400, str(messages.REJECTED))
        if self.require_narrative and not self.fields.narrative.strip():
            raise UploadRejected(400, str(messages.NARRATIVE_REQUIRED))
        self.part_name, self.part_is_file, self.part_size = name, True, 0
        if not filename:  # a file input left empty: browsers send an empty part
            self.part_name = None
            return
        self.fields.files += 1
        if self.fields.files > self.limits.max_files:
            raise UploadRejected(413, str(messages.TOO_MANY_FILES))
        self.sink.start_file(
            check_filename(filename, self.limits), clean_content_type(content_type)
        )

    def data(self, chunk: bytes, more: bool) -> None:
        self.total += len(chunk)
        if self.total > self.limits.max_submission_bytes:
            raise UploadRejected(413, str(messages.SUBMISSION_TOO_LARGE))
        if self.part_is_file:
            if self.discarding:
                return
            if self.part_name is None:
                if chunk:
                    raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
                return
            self.part_size += len(chunk)
            if self.part_size > self.limits.max_file_bytes:
                raise UploadRejected(413, str(messages.FILE_TOO_LARGE))
            if chunk:
                self.sink.write(chunk)
            if not more:
                if self.part_size == 0:
                    self.fields.empty_files += 1
                self.sink.end_file()
            return
        self.buffer += chunk
        if len(self.buffer) > self.buffer_limit:
            if self.part_name == NARRATIVE_FIELD:
                raise UploadRejected(413, str(messages.NARRATIVE_TOO_LONG))
            raise UploadRejected(413, str(messages.ANSWER_TOO_LONG))
        if not more:
            self.end_field()

    def end_field(self) -> None:
        name = str(self.part_name)
        try:
            text = self.buffer.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD)) from exc
        finally:
            self.buffer.clear()
        if name == CSRF_FIELD:
            if self.csrf_ok:
                raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
            if self.csrf_failed:  # a token after other parts comes too late to count
                return
            try:
                self.check_csrf(text)  # raises UploadRejected
            except UploadRejected:
                self.csrf_failed = True
                return
            self.csrf_ok = True
        elif name == HONEYPOT_FIELD:
            self.honeypot = self.honeypot or bool(text.strip())
        elif name == NARRATIVE_FIELD:
            text = text.replace("\r\n", "\n")
            if self.fields.narrative or len(text) > self.limits.max_narrative_chars:
                raise UploadRejected(413, str(messages.NARRATIVE_TOO_LONG))
            self.fields.narrative = text
        else:
            self.answer(name, text.strip())

    def answer(self, name: str, text: str) -> None:
        question = self.questionnaire.by_field(name)
        if question is None or not text:
            return
        if len(text) > self.limits.max_answer_chars:
            raise UploadRejected(413, str(messages.ANSWER_TOO_LONG))
        if question.options and text not in {o.id for o in question.options}:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
        answers = self.fields.answers
        if question.type == "multi":
            chosen = answers.setdefault(question.id, [])
            if isinstance(chosen, list) and text not in chosen:
                chosen.append(text)
        elif question.id in answers:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD))
        else:
            answers[question.id] = text


def parse_upload(
    stream: IO[bytes],
    boundary: bytes,
    limits: Limits,
    questionnaire: Questionnaire,
    check_csrf: Callable[[str], None],
    sink: FileSink,
    require_narrative: bool,
) -> TextFields:
    """Read the whole body, sealing files through `sink`; returns the text fields.

    Raises UploadRejected for anything a source or a forger could send wrong; the caller
    then discards whatever the sink had started.
    """
    parser = _Parser(limits, questionnaire, check_csrf, sink, require_narrative)
    max_parts = limits.max_files + questionnaire.max_fields + 8
    scanner = MultipartScanner(boundary, parser, max_parts)
    ended = False
    read_size = READ_BYTES
    try:
        while not scanner.done:
            started = time.monotonic()
            chunk = stream.read(read_size)
            fast = len(chunk) == read_size and time.monotonic() - started < FAST_READ_SECONDS
            read_size = FAST_READ_BYTES if fast else READ_BYTES
            if not chunk:
                ended = True
                scanner.end()  # the closing delimiter never came: MultipartError
            scanner.feed(chunk)
    except ClientDisconnected as exc:
        raise UploadRejected(400, str(messages.INTERRUPTED)) from exc
    except (RequestEntityTooLarge, TooManyParts) as exc:
        raise UploadRejected(413, str(messages.SUBMISSION_TOO_LARGE)) from exc
    except (ValueError, KeyError, TypeError) as exc:  # malformed multipart, bad headers
        # A body that stops before its closing boundary was cut off (a client gone).
        message = messages.INTERRUPTED if ended else messages.MALFORMED_UPLOAD
        raise UploadRejected(400, str(message)) from exc
    if parser.honeypot:
        raise UploadRejected(400, str(messages.REJECTED))
    if not parser.csrf_ok:
        raise FormExpired(parser.fields)
    return parser.fields
