"""A streaming multipart/form-data scanner (RFC 7578, delimiters as in RFC 2046 §5.1.1).

Why our own: on a large upload Werkzeug's sans-io decoder copied every byte of a file four
times (into its buffer, two slices, and bytes()) and scanned it three times; with our
work-around for its delimiter bug (pallets/werkzeug#3285) it cost the request thread about
a sixth of its time (`python -m bench upload`). Here a file part's bytes are searched once
for the delimiter and handed on as the very bytes objects the server read: no copy, except
at the end of a part and in the rare case a read ends in what may be the start of a
delimiter.

Strict where browsers are: every line break is CRLF, part headers are not folded, each part
has one Content-Disposition of type form-data with a name. Bounded: a preamble, a boundary
line's padding or a part's header block longer than MAX_HEADER_BYTES is refused, and so are
more than `max_parts` parts. What follows the closing delimiter (the epilogue) is not read.
"""

from __future__ import annotations

from typing import Protocol

from werkzeug.http import parse_options_header

MAX_HEADER_BYTES = 16 * 1024

_PREAMBLE, _BOUNDARY_LINE, _HEADERS, _DATA, _DONE = range(5)


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data (or was cut off)."""


class TooManyParts(MultipartError):
    """More parts than the form can have."""


class PartHandler(Protocol):
    """What the scanner reports, in body order."""

    def start_field(self, name: str) -> None: ...
    def start_file(self, name: str, filename: str, content_type: str | None) -> None: ...
    def data(self, chunk: bytes, more: bool) -> None: ...


class MultipartScanner:
    """Feed the body in pieces of any size; the handler hears of each part and its bytes.

    For every part: one start_field or start_file, then data() calls, the last of them with
    more=False (possibly with empty bytes)."""

    def __init__(self, boundary: bytes, handler: PartHandler, max_parts: int) -> None:
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._handler = handler
        self._max_parts = max_parts
        self._parts = 0
        self._state = _PREAMBLE
        # Bytes not yet handled: the preamble, a boundary line or header block still
        # incomplete, or the end of a part's data that may be the start of a delimiter.
        self._buf = bytearray()

    @property
    def done(self) -> bool:
        """The closing delimiter was seen: nothing more needs to be read."""
        return self._state == _DONE

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes of the body; returns `done`."""
        if self._state == _DONE:
            return True
        if self._state == _DATA:
            if self._buf:  # a held-back possible delimiter start: rare, small
                chunk = bytes(self._buf) + chunk
                self._buf.clear()
            rest = self._data(chunk)
            if rest is None:
                return False
            self._buf += rest
        else:
            self._buf += chunk
        self._run()
        return self._state == _DONE

    def end(self) -> None:
        """The body ended; MultipartError unless the closing delimiter came."""
        if self._state != _DONE:
            raise MultipartError("the body ended before its closing delimiter")

    def _data(self, data: bytes) -> bytes | None:
        """Hand on part content; returns what follows the delimiter if one is in `data`."""
        at = data.find(self._delimiter)
        if at >= 0:
            self._handler.data(data[:at], False)
            self._state = _BOUNDARY_LINE
            return data[at + len(self._delimiter) :]
        hold = self._possible_delimiter_start(data)
        if hold:
            self._buf += data[len(data) - hold :]
            data = data[: len(data) - hold]
        if data:
            self._handler.data(data, True)
        return None

    def _possible_delimiter_start(self, data: bytes) -> int:
        """Length of the longest end of `data` that could begin a delimiter (0 if none)."""
        start = max(0, len(data) - len(self._delimiter) + 1)
        at = data.find(b"\r", start)
        while at >= 0:
            if self._delimiter.startswith(data[at:]):
                return len(data) - at
            at = data.find(b"\r", at + 1)
        return 0

    def _run(self) -> None:
        """Work through the buffer until more bytes are needed."""
        buf = self._buf
        while True:
            if self._state == _PREAMBLE:
                if buf.startswith(self._dash_boundary):
                    del buf[: len(self._dash_boundary)]
                else:
                    at = buf.find(self._delimiter)
                    if at < 0:
                        self._bounded(len(buf), "preamble")
                        return
                    self._bounded(at, "preamble")
                    del buf[: at + len(self._delimiter)]
                self._state = _BOUNDARY_LINE
            elif self._state == _BOUNDARY_LINE:
                if buf.startswith(b"--"):
                    self._state = _DONE  # the closing delimiter; the epilogue is ignored
                    buf.clear()
                    return
                end = buf.find(b"\r\n")
                if end < 0:
                    self._bounded(len(buf), "boundary line")
                    return
                self._bounded(end, "boundary line")
                if buf[:end].strip(b" \t"):
                    raise MultipartError("text after a boundary")
                del buf[: end + 2]
                self._state = _HEADERS
            elif self._state == _HEADERS:
                if buf.startswith(b"\r\n"):
                    raise MultipartError("a part without headers")
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self._bounded(len(buf), "part headers")
                    return
                self._bounded(end, "part headers")
                block = bytes(buf[:end])
                del buf[: end + 4]
                self._state = _DATA
                self._start_part(block)
            elif self._state == _DATA:
                if not buf:
                    return
                data = bytes(buf)
                buf.clear()
                rest = self._data(data)
                if rest is None:
                    return
                buf += rest
            else:  # _DONE
                buf.clear()
                return

    @staticmethod
    def _bounded(size: int, what: str) -> None:
        if size > MAX_HEADER_BYTES:
            raise MultipartError(f"{what} longer than {MAX_HEADER_BYTES} bytes")

    def _start_part(self, block: bytes) -> None:
        self._parts += 1
        if self._parts > self._max_parts:
            raise TooManyParts(f"more than {self._max_parts} parts")
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MultipartError("part headers that are not UTF-8") from exc
        headers: dict[str, str] = {}
        for line in text.split("\r\n"):
            header, colon, value = line.partition(":")
            key = header.lower()
            if not colon or not key or key != key.strip() or key in headers:
                raise MultipartError("a malformed, folded or repeated part header")
            headers[key] = value.strip(" \t")
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise MultipartError("a part without Content-Disposition")
        kind, options = parse_options_header(disposition)
        name: str | None = options.get("name")
        if kind.lower() != "form-data" or name is None:
            raise MultipartError("a part that is not a named form-data field")
        filename = options.get("filename")
        if filename is None:
            self._handler.start_field(name)
        else:
            self._handler.start_file(name, filename, headers.get("content-type"))
