"""Helpers for the proof tests (tests/test_proof_*.py, tests/test_browser_journey.py): what an
instance holds on disk and in its database (SQLite or PostgreSQL), a real `sealdrop serve`
for a given database, and the offline round trip (export, import)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from hypothesis import HealthCheck, settings
from intake_support import partial_uploads
from postgres_schema import postgres_schema as _postgres_schema
from serve_process import REPO, ServeProcess
from sqlalchemy import create_engine, func, select

from intake.config import load_config
from intake.models import Envelope, Reply, Source, SourceSession

# The fuzz tests' hypothesis settings: modest and reproducible in CI; for a deeper hunt,
# SEALDROP_FUZZ_EXAMPLES=5000 SEALDROP_FUZZ_RANDOM=1 pytest tests/test_proof_fuzz_*.py
settings.register_profile(
    "proof",
    max_examples=int(os.environ.get("SEALDROP_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("SEALDROP_FUZZ_RANDOM") is None,
)
PROOF = settings.get_profile("proof")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT = re.compile(r'<bdi dir="ltr">([0-9 ]{29})</bdi>')


@dataclass(frozen=True)
class Holdings:
    """Everything an instance holds about submissions: rows, envelope files, partial files."""

    sources: int
    envelopes: int
    replies: int
    sessions: int
    files: tuple[str, ...]
    tmp_files: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        """Every envelope row has its file and every file its row (no orphans either way)."""
        return len(self.files) == self.envelopes and not self.tmp_files


def holdings(instance: Path, database_url: str | None = None) -> Holdings:
    """Count rows (in whichever database the instance uses) and files under storage/."""
    config = load_config(instance)
    engine = create_engine(database_url or config.database_url)
    try:
        with engine.connect() as conn:
            counts = [
                int(conn.scalar(select(func.count()).select_from(model.__table__)) or 0)
                for model in (Source, Envelope, Reply, SourceSession)
            ]
    finally:
        engine.dispose()
    storage = config.storage_dir
    files = tuple(sorted(p.name for p in storage.iterdir() if p.is_file()))
    return Holdings(*counts, files, tuple(partial_uploads(storage)))


def postgres_schema() -> AbstractContextManager[str]:
    """A private schema for a proof test (see tests/postgres_schema.py)."""
    return _postgres_schema("proof")


def serve_env(database_url: str | None) -> dict[str, str]:
    """The environment for a served instance: its own SQLite, or the given PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if k != "SEALDROP_DATABASE_URL"}
    if database_url:
        env["SEALDROP_DATABASE_URL"] = database_url
    return env


def start_serve(
    workdir: Path, instance: Path, database_url: str | None, extra: list[str] | None = None
) -> ServeProcess:
    """A real `sealdrop serve --no-tor`: the source and staff apps under gunicorn."""
    args = ["--instance", str(instance), "--no-tor", "--graceful-timeout", "3", *(extra or [])]
    process = ServeProcess(workdir, args, env=_env_diff(database_url))
    process.wait_ready()
    return process


def _env_diff(database_url: str | None) -> dict[str, str]:
    # ServeProcess merges os.environ with this; an empty value means "use the instance's".
    return {"SEALDROP_DATABASE_URL": database_url or ""}


@contextmanager
def served(
    workdir: Path, instance: Path, database_url: str | None, extra: list[str] | None = None
) -> Iterator[ServeProcess]:
    """`sealdrop serve` for the duration of a block, always stopped afterwards."""
    process = start_serve(workdir, instance, database_url, extra)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.stop()


def base_url(process: ServeProcess) -> str:
    """The source app's URL."""
    return f"http://127.0.0.1:{process.port}"


def form_token(session: requests.Session, url: str, path: str = "/") -> str:
    """Load a page with a form (sets the CSRF cookie) and return the form's token."""
    page = session.get(url + path, timeout=30)
    assert page.status_code == 200, page.status_code
    match = TOKEN.search(page.text)
    assert match, "no CSRF token on the landing page"
    return match.group(1)


def submit_real(
    url: str, narrative: str, files: list[tuple[str, bytes]] | None = None
) -> requests.Response:
    """A whole, valid first submission over HTTP, as a browser sends it."""
    session = requests.Session()
    token = form_token(session, url)
    fields: list[tuple[str, tuple[str | None, str | bytes] | tuple[str, bytes, str]]] = [
        ("csrf_token", (None, token)),
        ("website", (None, "")),
        ("narrative", (None, narrative)),
    ]
    for name, content in files or []:
        fields.append(("files", (name, content, "application/octet-stream")))
    return session.post(url + "/submit", files=fields, timeout=120)


def receipt_in(page: str) -> str:
    """The receipt shown on a receipt page."""
    match = RECEIPT.search(page)
    assert match, "no receipt on the page"
    return match.group(1)


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (gunicorn arbiters and their workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for(predicate, timeout: float = 20, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll until predicate() is true or the time is up; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = bool(predicate())
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def run_cli(program: str, *args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    """Run `sealdrop` or `sealdrop-admin` in a subprocess, as an operator would."""
    module = {"sealdrop": "intake.cli", "sealdrop-admin": "admin.cli"}[program]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", f"from {module} import main; main()", *args],
        cwd=REPO,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


ADMIN_PASSPHRASE = "proof passphrase for the offline vault"


@dataclass(frozen=True)
class Offline:
    """The offline side: a vault made by `sealdrop-admin init` (test key-file cost)."""

    vault: Path
    workdir: Path

    @property
    def env(self) -> dict[str, str]:
        """What every `sealdrop-admin` command gets."""
        return {
            "SEALDROP_VAULT": str(self.vault),
            "SEALDROP_ADMIN_PASSPHRASE": ADMIN_PASSPHRASE,
            "SEALDROP_ADMIN_KDF": "test",
        }

    @property
    def identity_text(self) -> str:
        """admin-identity.pub, for `sealdrop init`."""
        return (self.vault / "admin-identity.pub").read_text(encoding="utf-8")

    def admin(self, *args: str) -> str:
        """`sealdrop-admin ARGS`; fails the test with its output unless it exits 0."""
        done = run_cli("sealdrop-admin", *args, env=self.env)
        assert done.returncode == 0, f"sealdrop-admin {args[0]}: {done.stdout}{done.stderr}"
        return done.stdout

    def carry(self, instance: Path, name: str, *, apply_ack: bool = True) -> dict[str, object]:
        """`sealdrop export`, `sealdrop-admin import --ack-out`, `sealdrop apply-ack`: what
        staff and the admin do to bring tips offline. Returns the import's JSON report."""
        import json

        bundle, ack = self.workdir / f"{name}.sdb", self.workdir / f"{name}.sda"
        done = run_cli("sealdrop", "export", "--instance", str(instance), "--out", str(bundle))
        assert done.returncode == 0, done.stdout + done.stderr
        args = ["import", str(bundle), "--ack-out", str(ack), "--actor", "proof", "--silent"]
        report = json.loads(self.admin(*args, "--json"))
        if apply_ack:
            done = run_cli("sealdrop", "apply-ack", "--instance", str(instance), str(ack))
            assert done.returncode == 0, done.stdout + done.stderr
        return dict(report)

    def inbox(self) -> list[dict[str, object]]:
        """`sealdrop-admin inbox --all --json`, page after page: every tip in the vault."""
        import json

        tips: list[dict[str, object]] = []
        page = 1
        while True:
            listing = json.loads(
                self.admin(
                    "inbox",
                    "--all",
                    "--json",
                    "--actor",
                    "proof",
                    "--limit",
                    "1000",
                    "--page",
                    str(page),
                )
            )
            tips += listing["tips"]
            if not listing["tips"] or len(tips) >= listing["total"]:
                return tips
            page += 1


def make_offline(workdir: Path) -> Offline:
    """`sealdrop-admin init` in workdir/vault."""
    workdir.mkdir(parents=True, exist_ok=True)
    offline = Offline(workdir / "vault", workdir)
    offline.admin("init", "--vault", str(offline.vault), "--json")
    return offline
