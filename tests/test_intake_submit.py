"""Submissions: sealed as they stream, every bad input refused with a page and nothing kept."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from intake_support import (
    MULTIPART,
    Part,
    csrf_token,
    multipart,
    nothing_stored,
    open_envelopes,
    post_parts,
    receipt_of,
    stored,
    submission_parts,
)

from crypto.envelope import Opener
from intake import create_app
from intake.config import Limits, load_config

SMALL = Limits(
    max_file_bytes=200_000,
    max_submission_bytes=500_000,
    max_files=3,
    max_narrative_chars=1_000,
    max_answer_chars=100,
    max_filename_chars=255,
)


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """The source app with small limits, so over-limit cases stay fast."""
    application = create_app(dataclasses.replace(load_config(instance), limits=SMALL))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


def test_a_submission_is_sealed_to_the_admin_key(app: Flask, client: FlaskClient, admin_keys):
    photo = os.urandom(150_000)
    parts = submission_parts(
        csrf_token(client),
        narrative="They took my brother on Tuesday.\r\nNobody told us where.",
        answers={"when": "2024-03", "what_done": ["detention", "forced_dna"], "consent": "never"},
        files=[(b"photo 1.jpg", photo), ("证据.pdf".encode(), b"%PDF-1.4 tiny")],
    )
    response = post_parts(client, parts)
    assert response.status_code == 200
    receipt = receipt_of(response.data)
    assert len(receipt.replace(" ", "")) == 24
    now = stored(app)
    assert (now.sources, now.envelopes, now.tmp_files) == (1, 3, [])
    opened = open_envelopes(app, Opener([admin_keys.recipient]))
    by_kind = {meta["kind"]: [] for meta, _ in opened}
    for meta, content in opened:
        by_kind[meta["kind"]].append((meta, content))
    [(message_meta, narrative)] = by_kind["message"]
    assert narrative.decode() == "They took my brother on Tuesday.\nNobody told us where."
    assert message_meta["answers"] == {
        "when": "2024-03",
        "what_done": ["detention", "forced_dna"],
        "consent": "never",
    }
    files = {meta["filename"]: (meta, content) for meta, content in by_kind["file"]}
    assert files["photo 1.jpg"][1] == photo
    assert files["证据.pdf"][1] == b"%PDF-1.4 tiny"
    assert files["photo 1.jpg"][0]["content_type"] == "image/jpeg"
    metas = [meta for meta, _ in opened]
    assert len({m["submission_id"] for m in metas}) == 1
    assert len({m["source_id"] for m in metas}) == 1
    assert {m["received"] for m in metas} == {message_meta["received"]}
    assert len(message_meta["received"]) == 10  # a day, nothing finer
    assert message_meta["language"] == "en"


def test_an_empty_file_input_is_ignored(app: Flask, client: FlaskClient):
    parts = submission_parts(csrf_token(client))
    parts.append(Part(b"files", b"", b""))
    assert post_parts(client, parts).status_code == 200
    assert stored(app).envelopes == 1


BAD_FILENAMES = {
    "dot-dot-slash": b"../../etc/passwd",
    "slash": b"dir/name.jpg",
    "backslash": b"..\\\\win.ini",  # unescaped by the parser to one backslash
    "nul": b"photo\x00.jpg",
    "control": b"photo\x1b[31m.jpg",
    "newline-escape": b"a\x7fb.jpg",
    "ten-thousand-chars": b"a" * 10_000 + b".jpg",
    "invalid-utf8": b"photo\xff\xfe.jpg",
    "dot-dot": b"..",
}


@pytest.mark.parametrize("filename", BAD_FILENAMES.values(), ids=BAD_FILENAMES.keys())
def test_bad_filenames_are_refused(app: Flask, client: FlaskClient, filename: bytes):
    parts = submission_parts(csrf_token(client), files=[(b"fine.jpg", b"x" * 1000)])
    parts.append(Part(b"files", b"secret content", filename))
    response = post_parts(client, parts)
    assert response.status_code == 400
    assert (
        b"file name could not be accepted" in response.data or b"could not be read" in response.data
    )
    assert nothing_stored(app)


def _no_token(parts: list[Part]) -> list[Part]:
    return parts[1:]


def _token_after_file(parts: list[Part]) -> list[Part]:
    return [parts[2], Part(b"files", b"data", b"a.jpg"), parts[0], *parts[3:]]


def _wrong_token(parts: list[Part]) -> list[Part]:
    return [Part(b"csrf_token", b"IjEyMyI.forged.token"), *parts[1:]]


@pytest.mark.parametrize("mangle", [_no_token, _token_after_file, _wrong_token])
def test_csrf_is_required_before_anything_is_sealed(app: Flask, client: FlaskClient, mangle):
    parts = submission_parts(csrf_token(client), files=[(b"a.jpg", b"y" * 5000)])
    response = post_parts(client, mangle(parts))
    assert response.status_code == 400
    assert b"Nothing was sent: this form had expired" in response.data
    assert nothing_stored(app)


def test_a_csrf_token_from_another_browser_is_refused(app: Flask, client: FlaskClient):
    token = csrf_token(app.test_client())
    response = post_parts(client, submission_parts(token))
    assert response.status_code == 400
    assert nothing_stored(app)


def test_the_honeypot_refuses_the_submission(app: Flask, client: FlaskClient):
    parts = submission_parts(
        csrf_token(client), honeypot="http://spam.example", files=[(b"a", b"b")]
    )
    response = post_parts(client, parts)
    assert response.status_code == 400
    assert b"not accepted" in response.data
    assert nothing_stored(app)


@pytest.mark.parametrize("narrative", ["", "   \r\n  "])
def test_an_empty_narrative_is_refused(app: Flask, client: FlaskClient, narrative: str):
    parts = submission_parts(csrf_token(client), narrative=narrative, files=[(b"a.jpg", b"z")])
    response = post_parts(client, parts)
    assert response.status_code == 400
    assert b"description is required" in response.data
    assert nothing_stored(app)


def test_a_narrative_over_the_limit_is_refused(app: Flask, client: FlaskClient):
    parts = submission_parts(csrf_token(client), narrative="é" * (SMALL.max_narrative_chars + 1))
    response = post_parts(client, parts)
    assert response.status_code == 413
    assert b"description is longer" in response.data
    assert nothing_stored(app)


def test_an_answer_over_the_limit_is_refused(app: Flask, client: FlaskClient):
    parts = submission_parts(csrf_token(client), answers={"when": "x" * 101})
    assert post_parts(client, parts).status_code == 413
    assert nothing_stored(app)


@pytest.mark.parametrize("answers", [{"consent": "maybe"}, {"consent": ["never", "ask_first"]}])
def test_an_answer_outside_the_options_is_refused(app: Flask, client: FlaskClient, answers):
    response = post_parts(client, submission_parts(csrf_token(client), answers=answers))
    assert response.status_code == 400
    assert nothing_stored(app)


def test_a_file_over_the_limit_is_refused(app: Flask, client: FlaskClient):
    files = [(b"ok.jpg", b"a" * 1000), (b"big.mov", os.urandom(SMALL.max_file_bytes + 1))]
    response = post_parts(client, submission_parts(csrf_token(client), files=files))
    assert response.status_code == 413
    assert b"file is larger" in response.data
    assert nothing_stored(app)


def test_a_submission_over_the_total_limit_is_refused(app: Flask, client: FlaskClient):
    files = [(f"{i}.mov".encode(), os.urandom(190_000)) for i in range(3)]
    response = post_parts(client, submission_parts(csrf_token(client), files=files))
    assert response.status_code == 413
    assert b"submission is larger" in response.data
    assert nothing_stored(app)


def test_too_many_files_are_refused(app: Flask, client: FlaskClient):
    files = [(f"{i}.txt".encode(), b"x") for i in range(SMALL.max_files + 1)]
    response = post_parts(client, submission_parts(csrf_token(client), files=files))
    assert response.status_code == 413
    assert b"more files" in response.data
    assert nothing_stored(app)


MALFORMED = {
    "no-closing-boundary": lambda body: body[: body.rindex(b"--" + b"sealdrop")],
    "garbage": lambda body: os.urandom(3000),
    "no-headers-end": lambda body: body.replace(b"\r\n\r\n", b"\r\n", 2),
    "no-content-disposition": lambda body: body.replace(b"Content-Disposition", b"X-Nope", 1),
    "unknown-field": lambda body: body.replace(b'name="narrative"', b'name="evil"'),
    "duplicate-token": lambda body: body.replace(b'name="website"', b'name="csrf_token"'),
    "empty": lambda body: b"",
    "truncated-in-file": lambda body: body[: len(body) // 2],
}


@pytest.mark.parametrize("mangle", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_multipart_bodies_are_refused(app: Flask, client: FlaskClient, mangle):
    body = multipart(submission_parts(csrf_token(client), files=[(b"a.jpg", os.urandom(50_000))]))
    response = client.post("/submit", data=mangle(body), content_type=MULTIPART)
    assert 400 <= response.status_code < 500
    assert b"<h1>" in response.data
    assert nothing_stored(app)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=\x01",
    ],
)
def test_a_body_that_is_not_a_form_upload_is_refused(app: Flask, client: FlaskClient, content_type):
    response = client.post("/submit", data=b"narrative=hello", content_type=content_type)
    assert response.status_code == 400
    assert nothing_stored(app)


def test_a_client_that_disconnects_mid_upload_leaves_nothing(app: Flask, client: FlaskClient):
    body = multipart(submission_parts(csrf_token(client), files=[(b"v.mp4", os.urandom(150_000))]))
    cut = body[: len(body) * 2 // 3]  # well inside the file: some of it is already sealed
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(cut),
        content_length=len(body),
        content_type=MULTIPART,
    )
    assert response.status_code == 400
    assert b"upload was interrupted" in response.data
    assert nothing_stored(app)


def test_files_go_nowhere_but_the_streaming_routes(app: Flask, client: FlaskClient):
    token = csrf_token(client, "/login")
    body = multipart([Part(b"csrf_token", token.encode()), Part(b"receipt", b"x", b"f.txt")])
    response = client.post("/login", data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert nothing_stored(app)


@pytest.mark.parametrize(("hours", "status"), [(2, 200), (3.9, 200), (4.1, 400)])
def test_the_csrf_token_lasts_long_enough_for_a_slow_upload(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, hours: float, status: int
):
    import time

    token = csrf_token(client)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + hours * 3600)
    response = post_parts(client, submission_parts(token))
    assert response.status_code == status


def test_a_chunked_upload_the_server_decodes_is_stored(app: Flask, client: FlaskClient):
    """No Content-Length, the server ends the body itself (gunicorn with chunked encoding:
    wsgi.input_terminated): read to its end and stored."""
    body = multipart(submission_parts(csrf_token(client), files=[(b"c.jpg", os.urandom(90_000))]))
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(body),
        content_type=MULTIPART,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": None},
    )
    assert response.status_code == 200, response.data[-300:]
    assert stored(app).envelopes == 2


def test_a_body_without_length_or_server_end_is_not_read(app: Flask, client: FlaskClient):
    """Neither a Content-Length nor a server that ends the stream: nothing can be read
    safely, so nothing is (a 400 page, nothing kept)."""
    body = multipart(submission_parts(csrf_token(client)))
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(body),
        content_type=MULTIPART,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"CONTENT_LENGTH": None},
    )
    assert response.status_code == 400
    assert nothing_stored(app)


class _Body(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_the_body_reader_stops_at_the_length_and_the_limit() -> None:
    """What _ClientBody promises the parser: never past Content-Length; a body that ends
    early is a client gone; a chunked body past the limit is a 413."""
    from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

    from intake.views.submit import _ClientBody

    exact = _ClientBody({"wsgi.input": _Body(b"a" * 10 + b"NEXT REQUEST")}, 10, 100)
    assert exact.read(4) + exact.read(100) == b"a" * 10
    assert exact.read(100) == b""
    short = _ClientBody({"wsgi.input": _Body(b"a" * 5)}, 10, 100)
    assert short.read(100) == b"a" * 5
    with pytest.raises(ClientDisconnected):
        short.read(100)
    chunked = {"wsgi.input": _Body(b"b" * 100), "wsgi.input_terminated": True}
    fits = _ClientBody(chunked, None, 100)
    assert fits.read(1000) == b"b" * 100
    assert fits.read(1000) == b""
    too_long = {"wsgi.input": _Body(b"b" * 101), "wsgi.input_terminated": True}
    with pytest.raises(RequestEntityTooLarge):
        _ClientBody(too_long, None, 100).read(1000)
    assert _ClientBody({"wsgi.input": _Body(b"c" * 10)}, None, 100).read(10) == b""
