"""The malformed-request corpus (tests/corpus/*.http, described in tests/corpus/README.md)
replayed over raw sockets against a real `sealdrop serve --no-tor` (gunicorn).

Each request must be answered with a status below 500, or, for the few that are not HTTP/1.x
at all (listed in CLOSED_IS_FINE, see the README), the connection closed without an answer.
After each one the server still serves GET /, and nothing was stored: no envelope file, no
partial file in storage/tmp, no row (source, envelope, reply, session)."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from proof_support import base_url, form_token, holdings, postgres_schema, served
from serve_process import ServeProcess

from intake.instance import create_instance

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.glob("*.http"))
# Not HTTP/1.x: gunicorn may close these without a status line (see README).
CLOSED_IS_FINE = {"32-http09-request.http"}
# gunicorn's own protocol answer, as RFC 9112 §6.1 asks for a transfer coding it does not
# implement (the request never reaches the app): the one 5xx that is not a fault.
PROTOCOL_5XX = {"21-transfer-encoding-unknown.http": 501}
_REPEAT = re.compile(rb"<<REPEAT (\d+)>>(.*?)<<END>>", re.DOTALL)

pytestmark = pytest.mark.slow


def expand(raw: bytes, host: str, cookie: str, csrf: str) -> bytes:
    """Apply the corpus macros (README): repeats, then placeholders, then {LENGTH}."""
    data = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), raw)
    data = data.replace(b"{HOST}", host.encode()).replace(b"{COOKIE}", cookie.encode())
    data = data.replace(b"{CSRF}", csrf.encode())
    head, sep, body = data.partition(b"\r\n\r\n")
    return head.replace(b"{LENGTH}", str(len(body)).encode()) + sep + body


def replay(port: int, data: bytes, timeout: float = 30) -> bytes:
    """Send the bytes (the server may stop reading early), then read whatever comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        try:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # EPIPE, ECONNRESET, ENOTCONN: the server answered or closed early
            pass
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def statuses(answer: bytes) -> list[int]:
    """The status code of every response in the answer (pipelined requests give several)."""
    return [int(code) for code in re.findall(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ", answer)]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def corpus_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServeProcess, Path, str | None]]:
    """One server per database for the whole corpus: every request must leave it serving."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from crypto.kdf import TEST_COST
    from crypto.keys import AdminIdentity

    workdir = tmp_path_factory.mktemp("corpus")
    identity = AdminIdentity((PrivateKey.generate().public_key,), SigningKey.generate().verify_key)
    instance = workdir / "instance"
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_schema()) if request.param == "postgres" else None
        create_instance(instance, identity.to_text(), TEST_COST, url)
        server = stack.enter_context(served(workdir, instance, url))
        yield server, instance, url


def test_the_corpus_has_its_readme_entries() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert len(FILES) >= 25
    for path in FILES:
        assert f"`{path.name}`" in readme, f"{path.name} is not described in the README"


@pytest.mark.parametrize("app", ["source", "staff"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_replayed_request_is_refused_cleanly_and_leaves_nothing(
    path: Path, app: str, corpus_server: tuple[ServeProcess, Path, str | None]
) -> None:
    """Against the source app, and the staff app (same requests, its own routes)."""
    server, instance, database_url = corpus_server
    url = base_url(server)
    session = requests.Session()
    csrf = form_token(session, url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    port = server.port if app == "source" else server.staff_port
    data = expand(path.read_bytes(), f"127.0.0.1:{port}", cookie, csrf)
    logged_before = len(server.output)
    answer = replay(port, data)
    codes = statuses(answer)
    if not codes:
        assert path.name in CLOSED_IS_FINE, f"no HTTP answer: {answer[:300]!r}"
    assert codes or answer == b"" or path.name in CLOSED_IS_FINE
    allowed = PROTOCOL_5XX.get(path.name)
    assert all(code < 500 or code == allowed for code in codes), (codes, answer[:1500])
    assert b"Traceback" not in answer
    # Still serving, and nothing kept.
    assert requests.get(url + "/", timeout=30).status_code == 200
    staff = requests.get(f"http://127.0.0.1:{server.staff_port}/staff/login", timeout=30)
    assert staff.status_code == 200
    now = holdings(instance, database_url)
    assert (now.sources, now.envelopes, now.replies, now.sessions) == (0, 0, 0, 0)
    assert (now.files, now.tmp_files) == ((), ())
    assert server.process.poll() is None
    logged = server.output[logged_before:]
    assert "unhandled" not in logged, logged[-2000:]
    # Nothing about the request is recorded: not its client, not its path.
    assert "ip=" not in logged, logged[-2000:]
    target = data.split(b"\r\n", 1)[0].split(b" ")[1:2]
    if target and len(target[0]) > 3:
        assert target[0].decode("latin-1")[:40] not in logged, logged[-2000:]
