"""Requests too malformed to reach the app (gunicorn answers them itself: bad request line,
a line or headers over the limits, an unknown transfer coding) get the app's own error
page through a real gunicorn: the security headers, no server name, nothing of the
request echoed back. Raw sockets, both apps."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from serve_process import ServeProcess, raw_request

from intake.headers import SECURITY_HEADERS
from intake.instance import create_instance

pytestmark = pytest.mark.slow

MARK = "sealdrop-echo-9c1f"
HOST = b"Host: 127.0.0.1\r\n"
MALFORMED = {
    "request line": (b"GET /" + MARK.encode() + b" HTTP/1.1 extra\r\n" + HOST + b"\r\n", 400),
    "method": (b"G<" + MARK.encode() + b"> / HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "version": (b"GET / HTTP/" + MARK.encode() + b"\r\n" + HOST + b"\r\n", 400),
    "header name": (b"GET / HTTP/1.1\r\n" + HOST + MARK.encode() + b"(): x\r\n\r\n", 400),
    "line too long": (b"GET /" + MARK.encode() * 300 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414),
    "too many headers": (
        b"GET / HTTP/1.1\r\n"
        + HOST
        + b"".join(b"X-%d: %s\r\n" % (i, MARK.encode()) for i in range(60))
        + b"\r\n",
        431,
    ),
    "header too big": (
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + MARK.encode() * 600 + b"\r\n\r\n",
        431,
    ),
    "transfer coding": (
        b"POST / HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: " + MARK.encode() + b"\r\n\r\n",
        501,
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`sealdrop serve --no-tor` (SQLite) for every request of this module."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from crypto.kdf import TEST_COST
    from crypto.keys import AdminIdentity

    workdir = tmp_path_factory.mktemp("raw-errors")
    identity = AdminIdentity((PrivateKey.generate().public_key,), SigningKey.generate().verify_key)
    create_instance(workdir / "instance", identity.to_text(), TEST_COST)
    process = ServeProcess(workdir, ["--instance", str(workdir / "instance"), "--no-tor"])
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split(" ")[1]), {k.lower(): v for k, v in fields.items()}, body


def _frame(page: bytes) -> bytes:
    """The page around its content (head, stylesheet, language menu), title left out, and
    the language links' paths too: they point at the page's own path, which an error
    gunicorn answers by itself does not have."""
    frame = re.sub(rb"<title>.*?</title>", b"", page.split(b"<main", 1)[0])
    return re.sub(rb'href="[^"?]*\?lang=', b'href="?lang=', frame)


@pytest.mark.parametrize("app", ["source", "staff"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_gunicorn_answers_with_our_page(server: ServeProcess, app: str, case: str) -> None:
    port = server.port if app == "source" else server.staff_port
    request, expected = MALFORMED[case]
    answer = raw_request(port, request)
    status, fields, body = _split(answer)
    assert status == expected, answer[:500]
    for name, value in SECURITY_HEADERS.items():
        assert fields.get(name.lower()) == value, (name, answer[:800])
    assert "server" not in fields
    assert fields["content-type"].startswith("text/html; charset=utf-8")
    assert int(fields["content-length"]) == len(body)
    assert MARK.encode() not in answer  # the request is never echoed
    assert b"gunicorn" not in answer.lower()
    # The app's own page: what a 404 of the same app looks like, but for this status.
    path = "/" if app == "source" else "/staff/login"
    normal = raw_request(
        port, b"GET " + path.encode() + b"-no-such-page HTTP/1.1\r\n" + HOST + b"\r\n"
    )
    _, normal_fields, normal_body = _split(normal)
    assert _frame(normal_body) == _frame(body)
    assert set(normal_fields) - {"set-cookie", "vary", "date"} <= set(fields) | {"connection"}
