"""Property tests of the streaming multipart parser: any chunking gives the same result, and
any byte string is either parsed or refused with UploadRejected, never another error."""

from __future__ import annotations

import io
import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from intake_support import BOUNDARY, Part, multipart

from intake.config import Limits
from intake.questionnaire import DEFAULT_PATH, load_questionnaire
from intake.upload import (
    FAST_READ_BYTES,
    FAST_READ_SECONDS,
    READ_BYTES,
    UploadRejected,
    parse_upload,
)

QUESTIONNAIRE = load_questionnaire(DEFAULT_PATH)
LIMITS = Limits(max_file_bytes=50_000, max_submission_bytes=200_000, max_files=5)


class Collect:
    """A FileSink that keeps what it is given."""

    def __init__(self) -> None:
        self.files: list[tuple[str, str, bytearray]] = []
        self.open = False

    def start_file(self, filename: str, content_type: str) -> None:
        assert not self.open
        self.files.append((filename, content_type, bytearray()))
        self.open = True

    def write(self, data: bytes) -> None:
        assert self.open
        self.files[-1][2].extend(data)

    def end_file(self) -> None:
        self.open = False


class Chunked(io.RawIOBase):
    """A stream that hands out the body in the given chunk sizes."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.pos = data, sizes or [1], 0

    def read(self, size: int = -1) -> bytes:
        step = self.sizes[self.pos % len(self.sizes)] if self.sizes else size
        chunk = self.data[: min(step, size if size > 0 else step)]
        self.data = self.data[len(chunk) :]
        self.pos += 1
        return chunk


def _check_token(token: str) -> None:
    if token != "tok":
        raise UploadRejected(400, "csrf")


def _parse(body: bytes, sizes: list[int]) -> tuple[object, Collect]:
    sink = Collect()
    fields = parse_upload(
        Chunked(body, sizes), BOUNDARY, LIMITS, QUESTIONNAIRE, _check_token, sink, True
    )
    return fields, sink


names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp"), blacklist_characters='/\\"'
    ),
    min_size=1,
    max_size=40,
).filter(lambda n: n not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(
    narrative=st.text(min_size=1, max_size=300).filter(lambda t: t.strip() and "\r" not in t),
    when=st.text(max_size=50).filter(lambda t: "\r" not in t),
    files=st.lists(st.tuples(names, st.binary(max_size=3000)), max_size=4),
    sizes=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8),
)
def test_any_chunking_gives_back_exactly_what_was_sent(narrative, when, files, sizes) -> None:
    parts = [
        Part(b"csrf_token", b"tok"),
        Part(b"website", b""),
        Part(b"narrative", narrative.encode()),
    ]
    parts.append(Part(b"q_when", when.encode()))
    parts += [Part(b"files", data, name.encode()) for name, data in files]
    fields, sink = _parse(multipart(parts), sizes)
    assert fields.narrative == narrative
    assert fields.answers == ({"when": when.strip()} if when.strip() else {})
    assert [(n, bytes(d)) for n, _t, d in sink.files] == [(n, d) for n, d in files]
    assert not sink.open


@settings(max_examples=200, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.builds(
            lambda prefix, junk, tail: prefix + junk + tail,
            st.sampled_from(
                [multipart([Part(b"csrf_token", b"tok")])[:-4], b"--" + BOUNDARY + b"\r\n"]
            ),
            st.binary(max_size=500),
            st.sampled_from([b"", b"\r\n--" + BOUNDARY + b"--\r\n"]),
        ),
    ),
    sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=4),
)
def test_any_body_is_parsed_or_refused_cleanly(body: bytes, sizes: list[int]) -> None:
    status = 200
    try:
        _parse(body, sizes)
    except UploadRejected as exc:
        status = exc.status
    assert status in (200, 400, 413)


def test_every_split_point_gives_the_same_files() -> None:
    """Regression: Werkzeug's decoder, fed "...\\r\\n--boundary-" and then the rest, passed the
    CR on as file content. Every place a read can end must give the exact bytes."""
    files = [("a.bin", b""), ("b.bin", b"\r\n\r"), ("c.bin", b"-" * 50 + b"\r")]
    parts = [Part(b"csrf_token", b"tok"), Part(b"narrative", b"n")]
    parts += [Part(b"files", data, name.encode()) for name, data in files]
    body = multipart(parts)
    for cut in range(1, len(body)):
        _fields, sink = _parse(body, [cut, len(body)])
        assert [(n, bytes(d)) for n, _t, d in sink.files] == files, cut


class Paced(io.RawIOBase):
    """A body that records the sizes asked for, and takes `delay` seconds per read."""

    def __init__(self, data: bytes, delay: float) -> None:
        self.data, self.delay, self.asked = data, delay, []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        time.sleep(self.delay)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def _large_body() -> bytes:
    content = os.urandom(6 * FAST_READ_BYTES)
    return multipart(
        [Part(b"csrf_token", b"tok"), Part(b"narrative", b"x"), Part(b"files", content, b"big.bin")]
    )


def test_reads_grow_while_the_body_arrives_fast() -> None:
    """A body that arrives fast is read 1 MiB at a time (fewer copies in gunicorn)."""
    stream = Paced(_large_body(), delay=0)
    limits = Limits(max_file_bytes=8 * FAST_READ_BYTES, max_submission_bytes=8 * FAST_READ_BYTES)
    parse_upload(stream, BOUNDARY, limits, QUESTIONNAIRE, _check_token, Collect(), True)
    assert stream.asked[0] == READ_BYTES
    assert stream.asked.count(FAST_READ_BYTES) >= 4


def test_reads_stay_small_while_the_body_trickles_in() -> None:
    """A slow client (a Tor circuit) is read 256 KiB at a time: a waiting thread holds no
    more than that (the memory of 200 slow uploads, docs/performance.md)."""
    stream = Paced(_large_body(), delay=FAST_READ_SECONDS * 2)
    limits = Limits(max_file_bytes=8 * FAST_READ_BYTES, max_submission_bytes=8 * FAST_READ_BYTES)
    parse_upload(stream, BOUNDARY, limits, QUESTIONNAIRE, _check_token, Collect(), True)
    assert set(stream.asked) == {READ_BYTES}
