"""intake/multipart.py: the streaming multipart scanner, alone.

Any split of a body gives the same parts and bytes; content that merely resembles a
delimiter stays content; a file's bytes are handed on without a copy; every malformed body
is refused with MultipartError, and the bounds hold."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.multipart import MAX_HEADER_BYTES, MultipartError, MultipartScanner, TooManyParts

BOUNDARY = b"----sealdropTestBoundary7MA4YWxk"


class Record:
    """A PartHandler that keeps everything it hears."""

    def __init__(self) -> None:
        self.parts: list[list[object]] = []  # [name, filename, content_type, bytearray]
        self.chunks: list[bytes] = []
        self.open = False

    def start_field(self, name: str) -> None:
        assert not self.open
        self.parts.append([name, None, None, bytearray()])
        self.open = True

    def start_file(self, name: str, filename: str, content_type: str | None) -> None:
        assert not self.open
        self.parts.append([name, filename, content_type, bytearray()])
        self.open = True

    def data(self, chunk: bytes, more: bool) -> None:
        assert self.open
        assert type(chunk) is bytes
        self.chunks.append(chunk)
        content = self.parts[-1][3]
        assert isinstance(content, bytearray)
        content.extend(chunk)
        self.open = more

    def result(self) -> list[tuple[object, ...]]:
        return [(n, f, t, bytes(c)) for n, f, t, c in self.parts]  # type: ignore[arg-type]


def body_of(parts: list[tuple[str, str | None, bytes]], preamble: bytes = b"") -> bytes:
    out = [preamble + b"\r\n" if preamble else b""]
    for name, filename, content in parts:
        head = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        out.append(b"--" + BOUNDARY + b"\r\n" + head.encode() + b"\r\n\r\n" + content + b"\r\n")
    out.append(b"--" + BOUNDARY + b"--\r\n")
    return b"".join(out)


def scan(body: bytes, cuts: list[int] | None = None, max_parts: int = 50) -> Record:
    record = Record()
    scanner = MultipartScanner(BOUNDARY, record, max_parts)
    edges = [0, *sorted(set(cuts or [])), len(body)]
    for start, end in itertools.pairwise(edges):
        if end > start:
            scanner.feed(body[start:end])
    scanner.end()
    return record


def expected(parts: list[tuple[str, str | None, bytes]]) -> list[tuple[object, ...]]:
    return [(n, f, None if f is None else "application/octet-stream", c) for n, f, c in parts]


# Content made to contain pieces of the delimiter (never the whole: a sender must choose a
# boundary its content lacks): the scanner must not be fooled by them.
tricky = (
    st.lists(
        st.sampled_from(
            [b"\r", b"\n", b"\r\n", b"-", b"--", b"\r\n--", b"\r\n--" + BOUNDARY[:10], BOUNDARY]
        )
        | st.binary(max_size=40),
        max_size=12,
    )
    .map(b"".join)
    .filter(lambda content: b"\r\n--" + BOUNDARY not in content)
)
part = st.tuples(
    st.sampled_from(["csrf_token", "narrative", "files", "q_when", "名字"]),
    st.none() | st.sampled_from(["a.jpg", "照片.png", ""]),
    tricky,
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(part, max_size=5),
    cuts=st.lists(st.integers(0, 2_000), max_size=8),
    preamble=st.sampled_from([b"", b"This is a preamble."]),
)
def test_any_split_gives_back_exactly_the_parts(parts, cuts, preamble) -> None:  # type: ignore[no-untyped-def]
    body = body_of(parts, preamble)
    assert scan(body, cuts).result() == expected(parts)


def test_every_split_point_of_a_delimiter_is_handled() -> None:
    parts = [("files", "a.bin", b"ab\r\n-\r\n--" + BOUNDARY[:-1] + b"\r"), ("narrative", None, b"")]
    body = body_of(parts)
    for cut in range(len(body) + 1):
        assert scan(body, [cut]).result() == expected(parts), cut


def test_a_file_part_s_bytes_are_handed_on_without_a_copy() -> None:
    """The bytes objects read from the server reach the sink as they are (no CR at their
    ends, so none is held back): the zero-copy path the upload speed depends on."""
    head = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="files"; filename="v"\r\n\r\n'
    )
    pieces = []
    while len(pieces) < 20:
        piece = os.urandom(65536)
        if b"\r" not in piece[-len(BOUNDARY) - 4 :]:
            pieces.append(piece)
    record = Record()
    scanner = MultipartScanner(BOUNDARY, record, 10)
    scanner.feed(head)
    for piece in pieces:
        scanner.feed(piece)
    assert scanner.feed(b"\r\n--" + BOUNDARY + b"--\r\n")
    assert all(got is sent for got, sent in zip(record.chunks, pieces, strict=False))
    assert record.result()[0][3] == b"".join(pieces)


def test_the_epilogue_is_not_read() -> None:
    record = Record()
    scanner = MultipartScanner(BOUNDARY, record, 10)
    body = body_of([("narrative", None, b"hello")])
    assert scanner.feed(body + b"anything at all" * 1000)
    assert scanner.feed(b"more")  # done: ignored
    scanner.end()
    assert record.result() == expected([("narrative", None, b"hello")])


def _refused(body: bytes, max_parts: int = 50) -> None:
    with pytest.raises(MultipartError):
        scan(body, max_parts=max_parts)


GOOD = body_of([("narrative", None, b"text")])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        GOOD[:-8],  # cut before the closing delimiter
        GOOD.replace(b"\r\n", b"\n"),  # bare LF line breaks
        GOOD.replace(b"Content-Disposition", b"X-Other"),
        GOOD.replace(b"form-data;", b"attachment;"),
        GOOD.replace(b'; name="narrative"', b""),
        GOOD.replace(b"Content-Disposition:", b"Content-Disposition:\r\n "),  # folded
        GOOD.replace(b"\r\n\r\n", b"\r\nContent-Disposition: form-data; name=x\r\n\r\n", 1),
        GOOD.replace(b"Content-Disposition: form", b"Content-Disposition form"),
        GOOD.replace(BOUNDARY + b"\r\n", BOUNDARY + b"junk\r\n", 1),
        GOOD.replace(b"\r\n\r\n", b"\r\n", 1),  # headers never end
        b"--" + BOUNDARY + b"\r\n\r\ncontent\r\n--" + BOUNDARY + b"--",  # no headers
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nx\r\n--'
        + BOUNDARY + b"--",  # not UTF-8
    ],
    ids=[
        "empty", "cut", "bare-lf", "no-disposition", "not-form-data", "no-name", "folded",
        "repeated", "no-colon", "text-after-boundary", "headers-never-end", "no-headers",
        "not-utf8",
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused(body: bytes) -> None:
    _refused(body)


def test_bounds_hold() -> None:
    """Nothing unbounded is buffered: preamble, boundary line and headers have a cap, and
    so does the number of parts."""
    _refused(b"x" * (MAX_HEADER_BYTES + 10))
    _refused(b"--" + BOUNDARY + b" " * (MAX_HEADER_BYTES + 10))
    big_header = b"X-Pad: " + b"a" * (MAX_HEADER_BYTES + 10)
    _refused(GOOD.replace(b"\r\n\r\n", b"\r\n" + big_header + b"\r\n\r\n", 1))
    many = body_of([("q_when", None, b"x")] * 11)
    with pytest.raises(TooManyParts):
        scan(many, max_parts=10)
    assert len(scan(many, max_parts=11).result()) == 11
    # A long stream of data bytes is not a bound: it is content, handed on as it comes.
    record = Record()
    scanner = MultipartScanner(BOUNDARY, record, 10)
    scanner.feed(GOOD[: GOOD.index(b"text")])
    for _ in range(64):
        scanner.feed(b"\r" * 1024)  # every read ends in what may start a delimiter
    assert len(scanner._buf) == 1  # only the last CR is held back
