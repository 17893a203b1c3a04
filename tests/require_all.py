"""In CI (CI=true) or with SEALDROP_TEST_REQUIRE_ALL=1, a test skipped because a tool or a
service is missing fails instead: `.ci/run` must prove the whole suite, not most of it."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

REQUIRE_ALL_ENV = "SEALDROP_TEST_REQUIRE_ALL"


def every_test_required() -> bool:
    """True in CI and when SEALDROP_TEST_REQUIRE_ALL=1."""
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    return ci or os.environ.get(REQUIRE_ALL_ENV, "") == "1"


def _fail_the_skip(report: Any) -> None:
    """Turn a skip report into a failure that still says why it was skipped."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    report.outcome = "failed"
    report.longrepr = (
        f"skipped ({reason}), but CI=true or {REQUIRE_ALL_ENV}=1 requires every test to run: "
        "install what is missing (sudo bash .ci/run does)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    """A skipped test (not an expected failure) fails when every test is required."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and every_test_required():
        _fail_the_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None]:
    """A whole module skipped at collection fails too."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.skipped and every_test_required():
        _fail_the_skip(report)
