"""Item 4: small tips per second (a 2 KB narrative with questionnaire answers, no file) on
SQLite and on PostgreSQL, and where the time goes.

Run: `python -m bench tips`. In process, through Flask's test client, one request at a time.
Two kinds of submission: a first one (a new source: one Argon2id receipt derivation at the
production cost) and a follow-up from a logged-in source (no derivation). Baseline, measured
in the same run: the crypto a tip cannot avoid, done alone (derive_source_keys and
Sealer.seal_bytes of the same message for a first tip; seal_bytes alone for a follow-up).

Shares: cProfile over a separate pass, each function's own time given to a group by the
file it lives in; time in C functions (libsodium, sqlite3, os.fsync...) goes to the group
of the Python code that called them. cProfile slows Python code more than C code, so the
framework's share is somewhat overstated; the ranking is what to read.

PostgreSQL: $SEALDROP_TEST_POSTGRES_URL, else the test cluster of .ci/postgres.sh is started;
each run uses a fresh database, dropped afterwards.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.harness import REPO, BenchResult, Figure, csrf_from, make_instance, sized, workdir

COMMAND = "python -m bench tips"
BOUNDARY = "sealdropbenchboundary0b1c2d3e"
ANSWERS: dict[str, str | list[str]] = {
    "when": "Spring 2023, around the Qingming festival",
    "province": "Xinjiang",
    "city": "Kashgar",
    "place_type": "detention_centre",
    "affected_group": "uyghur",
    "affected_number": "3",
    "what_done": ["detention", "forced_dna"],
    "how_known": "family",
    "consent": "ask_first",
    "urgency": "soon",
}
# Mixed Chinese and English, as many tips are; 2 KB of UTF-8 (cut at a character boundary).
_SENTENCE = "我的哥哥在星期二被警察带走了，至今没有消息。 They took my brother on Tuesday. "  # noqa: RUF001 - Chinese punctuation is the point
NARRATIVE = (_SENTENCE * 40).encode()[:2048].decode("utf-8", "ignore")

GROUPS = (
    ("receipt derivation (Argon2id)", ("/crypto/receipts.py", "/crypto/kdf.py", "pwhash")),
    ("sealing (crypto/envelope + PyNaCl)", ("/crypto/", "/nacl/")),
    ("database (SQLAlchemy + driver)", ("/sqlalchemy/", "/psycopg", "/sqlite3/", "/alembic/")),
    ("envelope files (write, fsync, rename)", ("/intake/storage.py",)),
    ("test client (not server work)", ("/werkzeug/test.py", "/flask/testing.py")),
    (
        "framework (Flask, Werkzeug, Jinja, WTForms, Babel)",
        (
            "/flask/",
            "/werkzeug/",
            "/jinja2/",
            "/wtforms/",
            "/flask_wtf/",
            "/flask_babel/",
            "/babel/",
            "/markupsafe/",
            "/itsdangerous/",
        ),
    ),
    ("intake (our request code)", ("/intake/",)),
)
OTHER = "other (stdlib, interpreter)"


def multipart(fields: list[tuple[str, str]]) -> bytes:
    """A multipart/form-data body of text fields, in the order a browser sends them."""
    out = []
    for name, value in fields:
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    out.append(f"--{BOUNDARY}--\r\n")
    return "".join(out).encode()


def tip_body(token: str) -> bytes:
    """The landing form with the narrative and the answers, no file."""
    fields = [("csrf_token", token), ("website", ""), ("narrative", NARRATIVE)]
    for key, value in ANSWERS.items():
        for item in [value] if isinstance(value, str) else value:
            fields.append((f"q_{key}", item))
    return multipart(fields)


def group_of(filename: str, name: str) -> str | None:
    """The group of a Python function (None for C functions: they take their caller's)."""
    if filename == "~":
        return "receipt derivation (Argon2id)" if "pwhash" in name else None
    for group, marks in GROUPS:
        if any(mark in filename for mark in marks):
            return group
    return OTHER


def shares(profile: cProfile.Profile) -> dict[str, float]:
    """Fraction of profiled time per group (C functions charged to their callers)."""
    stats: Any = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    totals: Counter[str] = Counter()
    for (filename, _line, name), (_cc, _nc, own, _cum, callers) in stats.items():
        group = group_of(filename, name)
        if group is not None:
            totals[group] += own
            continue
        edges = {caller: edge[2] for caller, edge in callers.items()}
        spread = sum(edges.values())
        for (c_file, _c_line, c_name), edge_own in edges.items():
            share = own * (edge_own / spread) if spread else own / len(edges)
            totals[group_of(c_file, c_name) or OTHER] += share
        if not callers:
            totals[OTHER] += own
    whole = sum(totals.values())
    return {group: totals[group] / whole for group, _marks in (*GROUPS, (OTHER, ()))}


def postgres_url() -> str:
    """The test cluster's URL: $SEALDROP_TEST_POSTGRES_URL, or start .ci/postgres.sh's."""
    url = os.environ.get("SEALDROP_TEST_POSTGRES_URL")
    if url:
        return url
    out = subprocess.run(
        [
            "bash",
            "-c",
            "source .ci/postgres.sh && start_test_postgres && echo $SEALDROP_TEST_POSTGRES_URL",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


class FreshDatabase:
    """A new PostgreSQL database on the cluster at `url`, dropped on exit."""

    def __init__(self, url: str) -> None:
        self.admin_url = url
        self.name = f"sealdrop_bench_{secrets.token_hex(6)}"
        self.url = re.sub(r"/[^/]*$", f"/{self.name}", url)

    def _execute(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def __enter__(self) -> FreshDatabase:
        self._execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class TipClient:
    """A source app for one instance and database, and the requests of one source."""

    def __init__(self, instance: Path, database_url: str | None) -> None:
        from intake import create_app
        from intake.config import load_config

        config = load_config(instance)
        if database_url:
            config = replace(config, database_url=database_url)
        self.config = config
        self.app = create_app(config)
        self.client = self.app.test_client()
        self.token = csrf_from(self.client.get("/").data)
        self.body = tip_body(self.token)
        self.receipt = ""

    def first(self) -> None:
        """One first submission (a new source)."""
        response = self.client.post(
            "/submit", data=self.body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
        )
        if response.status_code != 200:
            raise RuntimeError(f"submission refused: {response.status_code}")
        found = re.search(rb'<bdi dir="ltr">([0-9 ]{24})</bdi>', response.data)
        self.receipt = found.group(1).decode() if found else ""

    def log_in(self) -> None:
        """Log in with the last receipt (sets the session cookie) for follow-ups."""
        response = self.client.post(
            "/login", data={"csrf_token": self.token, "receipt": self.receipt}
        )
        if response.status_code != 303:
            raise RuntimeError(f"login refused: {response.status_code}")

    def follow_up(self) -> None:
        """One follow-up from the logged-in source."""
        response = self.client.post(
            "/source/submit",
            data=self.body,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
        if response.status_code != 303:
            raise RuntimeError(f"follow-up refused: {response.status_code}")

    def envelopes(self) -> int:
        """Envelope rows in the database."""
        from sqlalchemy import func, select

        from intake.models import Envelope

        with self.app.extensions["sealdrop"].sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Envelope)) or 0)

    def close(self) -> None:
        """Return the database connections."""
        self.app.extensions["sealdrop"].engine.dispose()


def per_second(count: int, work: Callable[[], object]) -> float:
    """Runs of work() per second over `count` runs."""
    start = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - start)


def crypto_alone(instance: Path) -> tuple[float, float]:
    """(first-tip crypto per second, follow-up crypto per second): derivation + seal, seal."""
    from crypto.envelope import Sealer
    from crypto.receipts import derive_source_keys, new_receipt
    from intake.config import load_config
    from intake.instance import load_admin_identity, load_peppers

    config = load_config(instance)
    sealer = Sealer(load_admin_identity(config).recipients)
    peppers = load_peppers(config)
    message = NARRATIVE.encode()
    metadata = {"kind": "message", "answers": ANSWERS, "source_id": "0" * 64}
    count = sized(40, 10)
    derive_and_seal = per_second(
        count,
        lambda: (
            derive_source_keys(new_receipt(), peppers, config.receipt_cost),
            sealer.seal_bytes(message, metadata),
        ),
    )
    seal = per_second(count * 25, lambda: sealer.seal_bytes(message, metadata))
    return derive_and_seal, seal


def _repeat(work: Callable[[], object], count: int) -> None:
    for _ in range(count):
        work()


def measure(tips: TipClient, count: int) -> dict[str, Any]:
    """Rates and profiled shares of first submissions and follow-ups on one database."""
    tips.first()  # warm: templates compiled, connections open
    first_rate = per_second(count, tips.first)
    tips.log_in()
    tips.follow_up()
    follow_rate = per_second(count * 3, tips.follow_up)
    profile_first, profile_follow = cProfile.Profile(), cProfile.Profile()
    profile_first.runcall(_repeat, tips.first, max(5, count // 4))
    tips.log_in()
    profile_follow.runcall(_repeat, tips.follow_up, count)
    return {
        "first_per_s": first_rate,
        "follow_per_s": follow_rate,
        "first_shares": shares(profile_first),
        "follow_shares": shares(profile_follow),
        "envelopes": tips.envelopes(),
    }


def _print_shares(label: str, table: dict[str, float]) -> None:
    print(f"  where the time goes, {label}:")
    for group, fraction in sorted(table.items(), key=lambda item: -item[1]):
        if fraction >= 0.005:
            print(f"    {fraction * 100:5.1f}%  {group}")


def run() -> None:
    """Tips per second on SQLite and PostgreSQL, with the share of each part."""
    result = BenchResult("tips")
    count = sized(60, 12)
    with workdir("tips") as tmp:
        made = make_instance(tmp)
        before = crypto_alone(made.instance)
        measured: dict[str, dict[str, Any]] = {}
        sqlite = TipClient(made.instance, None)
        try:
            measured["SQLite"] = measure(sqlite, count)
        finally:
            sqlite.close()
        with FreshDatabase(postgres_url()) as fresh:
            pg = TipClient(made.instance, fresh.url)
            try:
                measured["PostgreSQL"] = measure(pg, count)
            finally:
                pg.close()
        # The baseline brackets the measurements: the load changes by the minute.
        after = crypto_alone(made.instance)
        derive_seal_rate = (before[0] + after[0]) / 2
        seal_rate = (before[1] + after[1]) / 2
    for database, data in measured.items():
        for kind, rate_key, baseline_name, baseline in (
            (
                "first submission (new source)",
                "first_per_s",
                "derive + seal alone",
                derive_seal_rate,
            ),
            ("follow-up (logged-in source)", "follow_per_s", "seal_bytes alone", seal_rate),
        ):
            shares_key = "first_shares" if rate_key == "first_per_s" else "follow_shares"
            top = sorted(data[shares_key].items(), key=lambda item: -item[1])[:4]
            result.add(
                Figure(
                    name=f"{database}: 2 KB tip + answers, {kind}",
                    value=data[rate_key],
                    unit="tips/s",
                    baseline=baseline_name,
                    baseline_value=baseline,
                    ratio=data[rate_key] / baseline,
                    command=COMMAND,
                    notes="; ".join(f"{g.split(' (')[0]} {f * 100:.0f}%" for g, f in top),
                )
            )
        _print_shares(f"{database}, first submissions", data["first_shares"])
        _print_shares(f"{database}, follow-ups", data["follow_shares"])
    result.details = {
        "count": count,
        "narrative_bytes": len(NARRATIVE.encode()),
        "answers": ANSWERS,
        "measured": measured,
        "derive_and_seal_per_s": derive_seal_rate,
        "seal_per_s": seal_rate,
        "baseline_before_after": [before, after],
    }
    result.save()
