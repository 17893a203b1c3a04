"""The bench's own arithmetic: percentiles, the profile grouping and the results table.

Nothing here is timed; the benches themselves are run with `python -m bench`.
"""

from __future__ import annotations

import cProfile
import hashlib
import json
from pathlib import Path

import pytest

from bench import harness, report
from bench.__main__ import BENCHES, main
from bench.small_tips import OTHER, group_of, shares


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(v) for v in range(1, 101)], 0.99, 99.0),
        ([float(v) for v in range(1, 101)], 0.5, 50.0),
        ([5.0], 0.99, 5.0),
        ([1.0, 2.0], 1.0, 2.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert harness.percentile(values, fraction) == expected


def test_percentile_of_nothing_is_nan() -> None:
    value = harness.percentile([], 0.5)
    assert value != value


@pytest.mark.parametrize(
    ("filename", "group"),
    [
        ("/work/main/crypto/envelope.py", "sealing (crypto/envelope + PyNaCl)"),
        (
            "/venv/site-packages/nacl/bindings/crypto_secretstream.py",
            "sealing (crypto/envelope + PyNaCl)",
        ),
        ("/work/main/crypto/receipts.py", "receipt derivation (Argon2id)"),
        ("/venv/site-packages/sqlalchemy/orm/session.py", "database (SQLAlchemy + driver)"),
        ("/venv/site-packages/psycopg/cursor.py", "database (SQLAlchemy + driver)"),
        ("/work/main/intake/storage.py", "envelope files (write, fsync, rename)"),
        ("/work/main/intake/views/submit.py", "intake (our request code)"),
        ("/venv/site-packages/werkzeug/test.py", "test client (not server work)"),
        (
            "/venv/site-packages/werkzeug/sansio/multipart.py",
            "framework (Flask, Werkzeug, Jinja, WTForms, Babel)",
        ),
        ("/usr/lib/python3.11/json/encoder.py", OTHER),
    ],
)
def test_profile_groups_by_file(filename: str, group: str) -> None:
    assert group_of(filename, "anything") == group


def test_c_functions_take_their_callers_group() -> None:
    assert group_of("~", "<built-in method posix.fsync>") is None
    assert group_of("~", "<built-in method _sodium.crypto_pwhash_alg>") == (
        "receipt derivation (Argon2id)"
    )


def _hash_a_lot() -> None:
    """Python code here calling a C function (hashlib) for most of its time."""
    for _ in range(200):
        hashlib.sha256(b"x" * 200_000).digest()


def test_shares_sum_to_one_and_charge_c_time_to_the_caller() -> None:
    profile = cProfile.Profile()
    profile.runcall(_hash_a_lot)
    table = shares(profile)
    assert sum(table.values()) == pytest.approx(1.0)
    # This test file is not in any named group, so the hashing (C) lands in OTHER.
    assert table[OTHER] > 0.9


def test_table_renders_every_figure_with_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    figure = harness.Figure(
        name="thing",
        value=12.5,
        unit="MB/s",
        baseline="raw",
        baseline_value=50.0,
        ratio=0.25,
        target=">= 0.3x",
        met=False,
    )
    result = {
        "bench": "upload",
        "quick": True,
        "utc": "2026-01-01T00:00:00Z",
        "load_start": "1.00 1.00 1.00",
        "load_end": "2.00 2.00 2.00",
        "seconds": 3.0,
        "figures": [figure.__dict__],
    }
    (tmp_path / "upload.json").write_text(json.dumps(result))
    table = report.write_table()
    assert "| upload | thing | 12.5 MB/s | raw: 50.0 | 0.25x | >= 0.3x | **no** |" in table
    assert "`upload` (quick): 2026-01-01T00:00:00Z, load average at start 1.00 1.00 1.00" in table
    assert (tmp_path / "table.md").read_text() == table


def test_every_bench_module_has_a_run_function() -> None:
    import importlib

    for module in BENCHES.values():
        assert callable(importlib.import_module(module).run)


def test_unknown_bench_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuchbench"]) == 1
    assert "Error: unknown bench nosuchbench; try --list" in capsys.readouterr().err
