"""The staff app's form parser: multipart bodies go through our scanner (intake/multipart.py).

Werkzeug's decoder adds a stray CR to the last part when one of its 64 KiB reads ends
inside the closing delimiter (pallets/werkzeug#3285). A reply bundle or an ack it hits
fails its checks on every upload, since the same file is always cut at the same place.
Uploads stay in memory: they are ciphertext and signed statements, bounded by the app's
MAX_CONTENT_LENGTH, and never touch the disk.
"""

from __future__ import annotations

import io
from typing import IO, Any

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from ..multipart import MultipartScanner, TooManyParts

READ_BYTES = 64 * 1024
# The staff forms have a CSRF token and at most one file; Werkzeug's own default is 1,000.
MAX_PARTS = 16


class _Collected:
    """Fields and files of one body, in memory; a field's text bounded as Werkzeug's is."""

    def __init__(self, max_field_bytes: int | None) -> None:
        self.form: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self._max_field_bytes = max_field_bytes
        self._name = ""
        self._file: tuple[str, str | None] | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    def start_field(self, name: str) -> None:
        self._start(name, None)

    def start_file(self, name: str, filename: str, content_type: str | None) -> None:
        self._start(name, (filename, content_type))

    def _start(self, name: str, file: tuple[str, str | None] | None) -> None:
        self._name, self._file, self._chunks, self._size = name, file, [], 0

    def data(self, chunk: bytes, more: bool) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        limit = self._max_field_bytes
        if self._file is None and limit is not None and self._size > limit:
            raise RequestEntityTooLarge()
        if more:
            return
        content = b"".join(self._chunks)
        self._chunks = []
        if self._file is None:
            self.form.append((self._name, content.decode("utf-8", "replace")))
        else:
            filename, content_type = self._file
            upload = FileStorage(io.BytesIO(content), filename, self._name, content_type)
            self.files.append((self._name, upload))


class ScannedFormDataParser(FormDataParser):
    """Werkzeug's FormDataParser with multipart/form-data decoded by MultipartScanner."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        if mimetype != "multipart/form-data":
            return super().parse(stream, mimetype, content_length, options)
        collected = _Collected(self.max_form_memory_size)
        try:
            boundary = (options or {}).get("boundary", "").encode("ascii")
            if not boundary:
                raise ValueError("a multipart body without a boundary")
            scanner = MultipartScanner(boundary, collected, MAX_PARTS)
            while not scanner.done:
                chunk = stream.read(READ_BYTES)
                if not chunk:
                    scanner.end()
                scanner.feed(chunk)
        except TooManyParts as exc:
            raise RequestEntityTooLarge() from exc
        except ValueError:  # malformed: as Werkzeug does, an empty form unless not silent
            if not self.silent:
                raise
            return stream, self.cls(), self.cls()
        return stream, self.cls(collected.form), self.cls(collected.files)
