"""Done-when of issue 5, with real processes: a source submits through `sealdrop serve`
(real gunicorn), the tips cross to `sealdrop-admin` and a reply and an ack come back,
the source reads the reply with the receipt, and the ack removes the envelopes from disk
and database. Once with the `sealdrop` commands, once through the staff web app logged in
with a real TOTP code."""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
import requests
from serve_process import ServeProcess
from source_form import multipart
from sqlalchemy import func, select

from crypto.bundle import BundleReader
from intake.config import load_config
from intake.db import make_engine, make_sessionmaker
from intake.instance import create_instance
from intake.models import Envelope, Reply

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
PASSPHRASE = "correct horse battery staple e2e"
REPLY_TEXT = "Thank you. 我们收到了。Are you safe now?"


@dataclass
class Loop:
    """The vault, the instance and the running server of one test."""

    vault: Path
    instance: Path
    server: ServeProcess
    env: dict[str, str]
    work: Path

    @property
    def source_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def staff_url(self) -> str:
        return f"http://127.0.0.1:{self.server.staff_port}"

    def run(self, tool: str, *args: str) -> str:
        """Run a console script; fail with its output unless it exits 0."""
        done = subprocess.run(
            [str(BIN / tool), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{tool} {args}: {done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def counts(self) -> tuple[int, int, list[str]]:
        """Envelope rows, reply rows, envelope files."""
        config = load_config(self.instance)
        engine = make_engine(config.database_url)
        try:
            with make_sessionmaker(engine)() as db:
                envelopes = db.scalar(select(func.count()).select_from(Envelope)) or 0
                replies = db.scalar(select(func.count()).select_from(Reply)) or 0
        finally:
            engine.dispose()
        files = sorted(p.name for p in config.storage_dir.glob("*.sealed"))
        return envelopes, replies, files


@pytest.fixture
def loop(
    tmp_path: Path, admin_kdf, argon2_cost, database_url: str | None, monkeypatch
) -> Iterator[Loop]:  # type: ignore[no-untyped-def]
    """`sealdrop-admin init`, an instance with its identity, and `sealdrop serve --no-tor`."""
    monkeypatch.delenv("SEALDROP_DATABASE_URL", raising=False)
    env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE}
    env.pop("SEALDROP_DATABASE_URL", None)
    vault = tmp_path / "vault"
    done = subprocess.run(
        [str(BIN / "sealdrop-admin"), "init", "--vault", str(vault)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    identity = (vault / "admin-identity.pub").read_text(encoding="utf-8")
    instance = tmp_path / "instance"
    # What `sealdrop init` runs, at the test Argon2id cost for receipts.
    create_instance(instance, identity, argon2_cost, database_url)
    server = ServeProcess(tmp_path, ["--instance", str(instance), "--no-tor"], env=env)
    try:
        server.wait_ready()
        yield Loop(vault, instance, server, env, tmp_path)
    finally:
        server.stop()


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def _submit(loop: Loop) -> str:
    """A source sends a message and a photo through the real server; returns the receipt."""
    source = requests.Session()
    token = _token(source.get(loop.source_url + "/", timeout=30).text)
    fields = [
        ("csrf_token", (None, token)),
        ("website", (None, "")),
        ("narrative", (None, "They took my neighbour on Tuesday.")),
        ("files", ("photo.jpg", os.urandom(200_000), "image/jpeg")),
    ]
    response = source.post(loop.source_url + "/submit", files=fields, timeout=60)
    assert response.status_code == 200, response.text[-1000:]
    match = re.search(r'<bdi dir="ltr">([0-9 ]{29})</bdi>', response.text)
    assert match, response.text[-2000:]
    return match.group(1)


def _source_reads(loop: Loop, receipt: str) -> str:
    """The source comes back with the receipt; returns the page with the replies."""
    source = requests.Session()
    token = _token(source.get(loop.source_url + "/login", timeout=30).text)
    response = source.post(
        loop.source_url + "/login", data={"csrf_token": token, "receipt": receipt}, timeout=30
    )
    assert response.status_code == 200, response.text[-1000:]
    assert response.url.endswith("/source")
    return response.text


def _offline_side(loop: Loop, bundle: Path) -> tuple[Path, Path]:
    """Import, reply to the bundle's source, export the replies; returns (ack, replies)."""
    ack, replies = loop.work / "ack.sda", loop.work / "replies.sdr"
    imported = loop.run(
        "sealdrop-admin", "import", "--vault", str(loop.vault), str(bundle), "--ack-out", str(ack)
    )
    assert "Ack for 2 envelope(s)" in imported
    with bundle.open("rb") as src:
        (source_id,) = BundleReader(src).manifest.reply_keys
    loop.run(
        "sealdrop-admin", "reply", "--vault", str(loop.vault), source_id, "--message", REPLY_TEXT
    )
    loop.run("sealdrop-admin", "export-replies", "--vault", str(loop.vault), "--out", str(replies))
    return ack, replies


def test_the_whole_loop_with_the_sealdrop_commands(loop: Loop) -> None:
    receipt = _submit(loop)
    assert loop.counts()[0] == 2
    bundle = loop.work / "bundle.sdb"
    out = loop.run("sealdrop", "export", "--instance", str(loop.instance), "--out", str(bundle))
    assert "Exported 2 envelope(s)" in out
    ack, replies = _offline_side(loop, bundle)
    out = loop.run("sealdrop", "import-replies", "--instance", str(loop.instance), str(replies))
    assert "Stored 1 new reply(ies)." in out
    assert REPLY_TEXT in _source_reads(loop, receipt)
    out = loop.run("sealdrop", "apply-ack", "--instance", str(loop.instance), str(ack))
    assert "Deleted 2 envelope(s); 0 were already gone." in out
    assert loop.counts() == (0, 1, [])
    # The reply stays readable after the envelopes are gone.
    assert REPLY_TEXT in _source_reads(loop, receipt)


def _staff_login(loop: Loop) -> requests.Session:
    """`sealdrop staff add`, then log in with the one-time password and a real TOTP code."""
    out = loop.run("sealdrop", "staff", "add", "--instance", str(loop.instance), "amina")
    password = re.search(r"One-time password: (\S+)", out).group(1)  # type: ignore[union-attr]
    uri = re.search(r"(otpauth://\S+)", out).group(1)  # type: ignore[union-attr]
    totp = pyotp.parse_uri(uri)
    staff = requests.Session()
    token = _token(staff.get(loop.staff_url + "/staff/login", timeout=30).text)
    form = {"csrf_token": token, "name": "amina", "password": password, "code": totp.now()}
    response = staff.post(loop.staff_url + "/staff/login", data=form, timeout=30)
    assert response.url.endswith("/staff/password"), response.text[-1000:]
    new = "my own long staff passphrase"
    form = {
        "csrf_token": _token(response.text),
        "current_password": password,
        "new_password": new,
        "new_password_again": new,
    }
    response = staff.post(loop.staff_url + "/staff/password", data=form, timeout=30)
    assert response.status_code == 200
    assert "Pending (never exported)" in response.text
    return staff


def _staff_upload(loop: Loop, staff: requests.Session, path: str, field: str, file: Path) -> str:
    token = _token(staff.get(loop.staff_url + "/staff/", timeout=30).text)
    files = {field: (file.name, io.BytesIO(file.read_bytes()), "application/octet-stream")}
    response = staff.post(
        loop.staff_url + path, data={"csrf_token": token}, files=files, timeout=60
    )
    assert response.status_code == 200, response.text[-2000:]
    return response.text


def test_the_whole_loop_through_the_staff_app(loop: Loop) -> None:
    receipt = _submit(loop)
    staff = _staff_login(loop)
    page = staff.get(loop.staff_url + "/staff/", timeout=30).text
    assert re.search(r'id="pending">2 envelopes', page)
    token = _token(page)
    bundle = loop.work / "bundle.sdb"
    with staff.post(
        loop.staff_url + "/staff/export", data={"csrf_token": token}, stream=True, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        with bundle.open("wb") as out:
            for chunk in response.iter_content(64 * 1024):
                out.write(chunk)
    assert bundle.stat().st_size == int(response.headers["Content-Length"])
    page = staff.get(loop.staff_url + "/staff/", timeout=30).text
    assert re.search(r'id="exported">2 envelopes', page)
    ack, replies = _offline_side(loop, bundle)
    assert "Stored 1 new reply." in _staff_upload(loop, staff, "/staff/replies", "bundle", replies)
    assert REPLY_TEXT in _source_reads(loop, receipt)
    page = _staff_upload(loop, staff, "/staff/ack", "ack", ack)
    assert "Deleted 2 envelopes; 0 were already gone." in page
    assert loop.counts() == (0, 1, [])
    assert re.search(r'id="pending">0 envelopes', page)


def test_a_reply_upload_cut_off_mid_body_stores_nothing(loop: Loop) -> None:
    """A staff upload whose connection drops half-way, through the real gunicorn."""
    import socket
    import time

    _submit(loop)
    staff = _staff_login(loop)
    bundle = loop.work / "bundle.sdb"
    loop.run("sealdrop", "export", "--instance", str(loop.instance), "--out", str(bundle))
    _ack, replies = _offline_side(loop, bundle)
    token = _token(staff.get(loop.staff_url + "/staff/", timeout=30).text)
    content_type, body = multipart(
        [("csrf_token", token), ("bundle", ("replies.sdr", replies.read_bytes()))]
    )
    cookie = "; ".join(f"{c.name}={c.value}" for c in staff.cookies)
    head = (
        f"POST /staff/replies HTTP/1.1\r\nHost: 127.0.0.1:{loop.server.staff_port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Cookie: {cookie}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", loop.server.staff_port)) as conn:
        conn.sendall(head + body[: len(body) - 100])
        time.sleep(0.5)
    time.sleep(0.5)
    assert loop.counts()[1] == 0
    # The same upload, whole, is accepted: the cut changed nothing.
    assert "Stored 1 new reply." in _staff_upload(loop, staff, "/staff/replies", "bundle", replies)
    assert loop.counts()[1] == 1
