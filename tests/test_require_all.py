"""CI=true or SEALDROP_TEST_REQUIRE_ALL=1 turns a skip for a missing tool into a failure
(tests/require_all.py); without them the same test is skipped as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SAMPLE = """
import shutil

import pytest


def test_needs_a_tool_nobody_has():
    if shutil.which("no-such-tool-sealdrop") is None:
        pytest.skip("no-such-tool-sealdrop is not installed")


@pytest.mark.skipif(True, reason="needs no-such-service")
def test_marked():
    pass


@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    raise AssertionError


def test_runs():
    pass
"""


def _pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from require_all import *  # noqa\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "SEALDROP_TEST_REQUIRE_ALL")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(TESTS), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_skips_stay_skips_outside_ci(tmp_path: Path) -> None:
    done = _pytest(tmp_path, {})
    assert done.returncode == 0, done.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in done.stdout


@pytest.mark.parametrize("env", [{"CI": "true"}, {"SEALDROP_TEST_REQUIRE_ALL": "1"}])
def test_skips_fail_in_ci(tmp_path: Path, env: dict[str, str]) -> None:
    done = _pytest(tmp_path, env)
    assert done.returncode == 1, done.stdout
    # A skip in the call fails; one in setup (a skipif mark, a fixture) errors: both exit 1.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in done.stdout
    assert "no-such-tool-sealdrop is not installed" in done.stdout
    assert "needs no-such-service" in done.stdout
