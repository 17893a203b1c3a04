"""axe-core on every workspace page, in a real headless Chromium, against the real
`sealdrop-admin workspace`: no serious or critical violation in any staff language.

axe.min.js comes from the source pages' accessibility test (its `axe_source` fixture), so
both suites get it the same way, pinned by tests/a11y/package-lock.json."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSPHRASE
from test_a11y_axe import axe_source, violations
from workspace_support import Filled, filled_vault

__all__ = ["axe_source"]  # a fixture shared with the source pages' test
pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN = str(Path(sys.executable).parent / "sealdrop-admin")


@pytest.fixture
def served(tmp_path: Path, admin_kdf: object) -> Iterator[tuple[Filled, str]]:
    """A running workspace over a vault with tips, and its URL."""
    filled = filled_vault(tmp_path)
    env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(
        [ADMIN, "workspace", "--vault", str(filled.admin.vault), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        yield filled, url
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


@pytest.mark.parametrize("tag", ["en", "zh-Hans"])
def test_axe_finds_no_serious_violation_on_any_workspace_page(
    browser: Any, served: tuple[Filled, str], axe_source: str, tag: str, tmp_path: Path
) -> None:
    filled, url = served
    # axe needs JavaScript to run; the pages have none of their own (the CSP allows none).
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        found[name] = violations(page, axe_source)

    try:
        page.goto(f"{url}?lang={tag}")
        check("inbox")
        page.goto(f"{url}source/{filled.chinese.source_id}")
        check("source")
        page.locator("a[href*='/file/']").first.click()
        check("attachment")
        page.goto(f"{url}source/{filled.chinese.source_id}")
        page.fill("#new-case-1", "Case")
        page.locator("form:has(#new-case-1) button").click()
        check("case")
        page.goto(f"{url}cases")
        check("cases")
        page.goto(f"{url}search?q=新疆")
        check("search")
        page.goto(f"{url}custody?verify=1")
        check("custody")
        page.goto(f"{url}transfer")
        check("transfer")
        page.fill("#bundle", str(filled.bundle))
        page.locator("form:has(#bundle) button").click()
        check("import progress")
        page.goto(f"{url}case/1")
        page.fill("#export-out", str(tmp_path / "export"))
        page.locator("form:has(#export-out) button").click()
        check("export progress")
        page.goto(f"{url}no-such-page")
        check("error")
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
