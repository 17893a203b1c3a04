"""Fuzzing the submission routes (hypothesis): arbitrary bytes and structured-random multipart
bodies, sent through the Flask test client to /submit and /source/submit.

Properties: never a 5xx; a 200 from /submit stores exactly one new source whose sealed
message holds the narrative that was sent; any other answer stores nothing at all (no row,
no envelope, no partial file). Example counts come from the "proof" hypothesis profile
(SEALDROP_FUZZ_EXAMPLES raises them for a deeper run)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import event, given
from hypothesis import strategies as st
from intake_support import BOUNDARY, MULTIPART, Part, csrf_token, multipart, stored
from proof_support import PROOF

from crypto.envelope import Opener
from intake import create_app
from intake.config import Limits, load_config

# Small limits, so over-limit paths are reached by small examples.
FUZZ_LIMITS = Limits(
    max_file_bytes=4_000,
    max_submission_bytes=12_000,
    max_files=3,
    max_narrative_chars=2_000,
    max_answer_chars=50,
    max_filename_chars=40,
)
FIELD_NAMES = [
    b"csrf_token",
    b"website",
    b"narrative",
    b"files",
    b"q_when",
    b"q_what_done",
    b"q_consent",
    b"q_nonexistent",
    b"",
    b"narrative\x00",
    "叙述".encode(),
]


@pytest.fixture
def database_url() -> None:
    """The parser does not depend on the database: SQLite only, to keep this fast."""
    return None


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """The source app with small limits."""
    application = create_app(dataclasses.replace(load_config(instance), limits=FUZZ_LIMITS))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


def _snapshot(app: Flask) -> tuple[int, int, int, int]:
    now = stored(app)
    assert now.tmp_files == [], "a partial upload was left in storage/tmp"
    assert len(now.files) == now.envelopes, "envelope files and rows disagree"
    return now.sources, now.envelopes, now.sessions, len(now.files)


def _check(app: Flask, before: tuple[int, int, int, int], response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.data[:500]
    event(f"status {response.status_code}")
    after = _snapshot(app)
    if response.status_code == 200 and b"<bdi" in response.data:
        assert after[0] == before[0] + 1, "a receipt was shown but no source stored"
        assert after[1] > before[1]
    else:
        assert after == before, f"{response.status_code} but something was stored"


part_strategy = st.builds(
    Part,
    name=st.sampled_from(FIELD_NAMES) | st.binary(max_size=12),
    content=st.binary(max_size=600) | st.text(max_size=200).map(str.encode),
    filename=st.none()
    | st.just(b"")
    | st.sampled_from([b"photo.jpg", b"../etc/passwd", b"a\\b", "照片.png".encode(), b"."])
    | st.binary(max_size=50),
    content_type=st.sampled_from([b"image/jpeg", b"", b"text/html; charset=utf-8", b"\xff\xfe"]),
)
# Parts a browser would send, so that some examples are whole, valid submissions.
valid_part = st.one_of(
    st.builds(Part, name=st.just(b"q_when"), content=st.text(max_size=40).map(str.encode)),
    st.builds(
        Part,
        name=st.just(b"q_consent"),
        content=st.sampled_from([b"anonymised", b"ask_first", b"never", b"bogus"]),
    ),
    st.builds(
        Part,
        name=st.just(b"q_what_done"),
        content=st.sampled_from([b"detention", b"torture", b"forced_dna"]),
    ),
    st.builds(
        Part,
        name=st.just(b"files"),
        content=st.binary(max_size=5_000),
        filename=st.sampled_from([b"photo.jpg", "证据.pdf".encode(), b"", b"notes.txt"]),
    ),
)


@PROOF
@given(body=st.binary(max_size=4_000))
def test_arbitrary_bytes_under_a_multipart_content_type(
    app: Flask, client: FlaskClient, body: bytes
) -> None:
    csrf_token(client)
    before = _snapshot(app)
    response = client.post("/submit", data=body, content_type=MULTIPART)
    _check(app, before, response)


@PROOF
@given(
    content_type=st.text(max_size=120)
    | st.sampled_from(
        [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=" + "x" * 71,
            'multipart/form-data; boundary="a b"',
            "multipart/mixed; boundary=abc",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=\u00e9",
        ]
    ),
    body=st.binary(max_size=300),
)
def test_arbitrary_content_types(
    app: Flask, client: FlaskClient, content_type: str, body: bytes
) -> None:
    csrf_token(client)
    before = _snapshot(app)
    try:
        header = content_type.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        header = content_type.encode("utf-8").decode("latin-1")
    response = client.post(
        "/submit", data=body, headers={"Content-Type": re.sub(r"[\r\n]", " ", header)}
    )
    _check(app, before, response)


@PROOF
@given(
    real_token=st.sampled_from([True, True, True, False]),
    lead=st.sampled_from(["csrf", "csrf", "csrf", "none", "twice"]),
    parts=st.lists(st.one_of(valid_part, valid_part, valid_part, part_strategy), max_size=6),
    narrative=st.none() | st.text(min_size=1, max_size=300) | st.text(min_size=1, max_size=30),
    cut=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 5_000)),
    boundary_noise=st.sampled_from([b"", b"", b"", b"", b"--", b"\r\n", b"x"]),
    route=st.sampled_from(["/submit"] * 5 + ["/source/submit"]),
)
def test_structured_random_multipart(
    app: Flask,
    client: FlaskClient,
    admin_keys,
    real_token: bool,
    lead: str,
    parts: list[Part],
    narrative: str | None,
    cut: int | None,
    boundary_noise: bytes,
    route: str,
) -> None:
    token = csrf_token(client) if real_token else "IjAwMDAwIg.forged.token"
    head: list[Part] = []
    if lead in ("csrf", "twice"):
        head.append(Part(b"csrf_token", token.encode()))
    if lead == "twice":
        head.append(Part(b"csrf_token", token.encode()))
    if narrative is not None:
        head.append(Part(b"narrative", narrative.encode("utf-8", "surrogatepass")))
    body = multipart(head + parts)
    if cut is not None:
        body = body[:cut]
    body = body.replace(b"--" + BOUNDARY + b"--", b"--" + BOUNDARY + boundary_noise + b"--")
    before = _snapshot(app)
    response = client.post(route, data=body, content_type=MULTIPART)
    _check(app, before, response)
    if response.status_code == 200 and route == "/submit":
        # What was stored is what was sent: the last envelope set opens to the narrative.
        opener = Opener([admin_keys.recipient])
        store = app.extensions["sealdrop"].store
        texts = []
        for envelope_id in store.ids():
            with store.open(envelope_id) as handle:
                opened, content = opener.open_bytes(handle.read())
            if opened.metadata["kind"] == "message":
                texts.append(content.decode("utf-8"))
        assert narrative is not None
        assert narrative.replace("\r\n", "\n") in texts


@PROOF
@given(
    narrative=st.text(min_size=1, max_size=1_500).filter(str.strip),
    when=st.text(max_size=50),
    done=st.lists(st.sampled_from(["detention", "torture", "forced_dna"]), unique=True),
    files=st.lists(
        st.tuples(
            st.text(
                st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='/\\"'),
                min_size=1,
                max_size=40,
            ).filter(lambda name: name not in (".", "..")),
            st.binary(max_size=3_000),
        ),
        max_size=3,
    ),
)
def test_every_valid_submission_is_stored_exactly_as_sent(
    app: Flask, client: FlaskClient, admin_keys, narrative, when, done, files
) -> None:
    parts = [
        Part(b"csrf_token", csrf_token(client).encode()),
        Part(b"website", b""),
        Part(b"narrative", narrative.encode()),
        Part(b"q_when", when.encode()),
        *(Part(b"q_what_done", item.encode()) for item in done),
        *(Part(b"files", content, name.encode()) for name, content in files),
    ]
    store = app.extensions["sealdrop"].store
    before, earlier = _snapshot(app), set(store.ids())
    response = client.post("/submit", data=multipart(parts), content_type=MULTIPART)
    assert response.status_code == 200, response.data[:800]
    _check(app, before, response)
    opener = Opener([admin_keys.recipient])
    message, received = None, []
    for envelope_id in set(store.ids()) - earlier:
        with store.open(envelope_id) as handle:
            opened, content = opener.open_bytes(handle.read())
        if opened.metadata["kind"] == "message":
            message = (opened.metadata, content)
        else:
            received.append((opened.metadata["filename"], content))
    assert message is not None
    assert message[1].decode() == narrative.replace("\r\n", "\n")
    expected = {"when": when.strip()} if when.strip() else {}
    if done:
        expected["what_done"] = done
    assert message[0]["answers"] == expected
    assert sorted(received) == sorted(files)
