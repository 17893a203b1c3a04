"""Helpers for the intake tests: build multipart bodies by hand, submit, inspect what the
instance stored, open envelopes with the admin's private key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from crypto.envelope import Opener
from intake.models import Envelope, Reply, Source, SourceSession

BOUNDARY = b"sealdroptestboundary7MA4YWxkTrZu0gW"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()


@dataclass(frozen=True)
class Part:
    """One multipart part; a filename (even empty) makes it a file part."""

    name: bytes
    content: bytes
    filename: bytes | None = None
    content_type: bytes = b"application/octet-stream"


def multipart(parts: list[Part], boundary: bytes = BOUNDARY) -> bytes:
    """A multipart/form-data body, byte for byte as given (bad names included)."""
    out = []
    for part in parts:
        disposition = b'form-data; name="' + part.name + b'"'
        head = b"Content-Disposition: " + disposition
        if part.filename is not None:
            head += b'; filename="' + part.filename + b'"\r\nContent-Type: ' + part.content_type
        out.append(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + part.content + b"\r\n")
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of a page's first form (also sets the CSRF cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


def submission_parts(
    token: str,
    narrative: str = "They took my brother on Tuesday.",
    answers: dict[str, str | list[str]] | None = None,
    files: list[tuple[bytes, bytes]] | None = None,
    honeypot: str = "",
) -> list[Part]:
    """The parts a browser sends for the landing form, in its order."""
    parts = [
        Part(b"csrf_token", token.encode()),
        Part(b"website", honeypot.encode()),
        Part(b"narrative", narrative.encode()),
    ]
    for key, value in (answers or {}).items():
        for item in [value] if isinstance(value, str) else value:
            parts.append(Part(f"q_{key}".encode(), item.encode()))
    for filename, content in files or []:
        parts.append(Part(b"files", content, filename, b"image/jpeg"))
    return parts


def post_parts(client: FlaskClient, parts: list[Part], path: str = "/submit") -> Any:
    """POST a hand-built multipart body."""
    return client.post(path, data=multipart(parts), content_type=MULTIPART)


def receipt_of(page: bytes) -> str:
    """The receipt shown on the receipt page."""
    match = re.search(rb'<bdi dir="ltr">([0-9 ]{29})</bdi>', page)
    assert match, "no receipt on the page"
    return match.group(1).decode()


def submit(client: FlaskClient, **kwargs: Any) -> str:
    """A successful first submission; returns the receipt."""
    response = post_parts(client, submission_parts(csrf_token(client), **kwargs))
    assert response.status_code == 200, response.data[:2000]
    return receipt_of(response.data)


def login(client: FlaskClient, receipt: str) -> Any:
    """Log in with a receipt."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "receipt": receipt})


@dataclass(frozen=True)
class Stored:
    """Everything an instance holds about submissions."""

    sources: int
    envelopes: int
    replies: int
    sessions: int
    files: list[str]
    tmp_files: list[str]


def stored(app: Flask) -> Stored:
    """Count rows and files, to prove a refused request left nothing."""
    app_state = app.extensions["sealdrop"]
    with app_state.sessions() as session:
        counts = [
            session.scalar(select(func.count()).select_from(model))
            for model in (Source, Envelope, Reply, SourceSession)
        ]
    store_dir: Path = app_state.config.storage_dir
    files = sorted(p.name for p in store_dir.iterdir() if p.is_file())
    return Stored(*counts, files, partial_uploads(store_dir))  # type: ignore[arg-type]


def partial_uploads(storage: Path) -> list[str]:
    """Names of partial upload files under storage/tmp, whatever host folder holds them."""
    return sorted(p.name for p in (storage / "tmp").rglob("*") if not p.is_dir())


def nothing_stored(app: Flask) -> bool:
    """No source, envelope, session, and no file in storage or storage/tmp."""
    now = stored(app)
    return (now.sources, now.envelopes, now.sessions, now.files, now.tmp_files) == (0, 0, 0, [], [])


def open_envelopes(app: Flask, opener: Opener) -> list[tuple[dict[str, Any], bytes]]:
    """Open every stored envelope with the admin key: (metadata, content)."""
    app_state = app.extensions["sealdrop"]
    out = []
    for envelope_id in sorted(app_state.store.ids()):
        with app_state.store.open(envelope_id) as handle:
            opened, content = opener.open_bytes(handle.read())
        out.append((opened.metadata, content))
    return out
