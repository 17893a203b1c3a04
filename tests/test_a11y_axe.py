"""Accessibility of the source pages, in a real headless Chromium: axe-core (from the npm
registry, pinned in tests/a11y/package-lock.json) finds no serious or critical violation,
and the whole journey works with the keyboard alone, with JavaScript off."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from a11y.fetch_axe import axe_script
from werkzeug.serving import WSGIRequestHandler, make_server

A11Y = Path(__file__).resolve().parent / "a11y"
LANGUAGES = ["en", "zh-Hans", "ug"]
BLOCKING = ("serious", "critical")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js of the version pinned in tests/a11y/package-lock.json, fetched from the
    npm registry and checked against the lock file's integrity hash (no npm needed)."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return axe_script(cache_root / "sealdrop-tests" / "axe")


@pytest.fixture
def database_url() -> None:
    """Pages, not databases: the instance's SQLite is enough."""
    return None


class _QuietHandler(WSGIRequestHandler):
    """No access log, as in production."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The source app on a loopback port (Werkzeug's threaded server); its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def violations(page: Any, axe_source: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now."""
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("tag", LANGUAGES)
def test_axe_finds_no_serious_violation_on_the_source_pages(
    browser: Any, served: str, axe_source: str, tag: str
) -> None:
    # axe needs JavaScript to run; the pages have none of their own (CSP forbids it), so a
    # JavaScript-enabled context sees exactly what Tor Browser at Safest sees.
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        page.goto(f"{served}/?lang={tag}")
        found["landing"] = violations(page, axe_source)
        page.fill("#narrative", "Test: they took my brother away.")
        page.click("button[type=submit]")
        page.wait_for_selector(".receipt")
        receipt = page.inner_text(".receipt bdi")
        found["receipt"] = violations(page, axe_source)
        page.goto(f"{served}/login?lang={tag}")
        found["login"] = violations(page, axe_source)
        page.fill("#receipt", "12ab")
        page.click("button[type=submit]")
        page.wait_for_selector("#receipt-error")
        found["login error"] = violations(page, axe_source)
        page.fill("#receipt", receipt)
        page.click("button[type=submit]")
        page.wait_for_selector("#narrative")
        found["source"] = violations(page, axe_source)
        page.goto(f"{served}/no-such-page?lang={tag}")
        found["404"] = violations(page, axe_source)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def luminance(rgb: str) -> float:
    """Relative luminance of a CSS rgb()/rgba() colour (WCAG 2 definition)."""
    channels = [int(x) / 255 for x in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def active(page: Any) -> str:
    """A short description of the focused element."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.tagName.toLowerCase() + '#' + (e.id || e.getAttribute('name') || ''); }"
        )
    )


def tab_to(page: Any, target: str, limit: int = 200) -> list[str]:
    """Press Tab until `target` (tag#id) has focus; the elements passed on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(active(page))
        if seen[-1] == target:
            return seen
    raise AssertionError(f"{target} never got focus; focus went through {seen}")


def test_keyboard_alone_submits_and_logs_in_with_visible_focus(browser: Any, served: str) -> None:
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    try:
        page.goto(f"{served}/?lang=ug")
        passed = tab_to(page, "textarea#narrative")
        # The language links come first and can all be reached.
        assert sum(1 for name in passed if name.startswith("a#")) >= 6
        style = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineColor, s.outlineWidth]; }"
        )
        assert style[0] not in ("none", "")  # focus is visible...
        assert float(style[2].removesuffix("px")) >= 2
        assert contrast(style[1], "rgb(255, 255, 255)") >= 3  # ...against the page (WCAG 1.4.11)
        font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
        assert font.startswith('"Noto Naskh Arabic"')
        page.keyboard.type("Keyboard only.")
        tab_to(page, "button#")
        page.keyboard.press("Enter")
        page.wait_for_selector(".receipt")
        receipt = page.inner_text(".receipt bdi")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        page.goto(f"{served}/login?lang=ug")
        tab_to(page, "input#receipt")
        page.keyboard.type(receipt)
        page.keyboard.press("Enter")
        page.wait_for_url("**/source?lang=ug")
    finally:
        context.close()


CLEARNET_SITE = Path(__file__).resolve().parent.parent / "deploy" / "clearnet" / "site"


@pytest.mark.parametrize("page_name", ["index", "en", "zh-Hans", "zh-Hant", "ug", "bo", "fr"])
def test_axe_finds_no_serious_violation_on_the_clearnet_pages(
    browser: Any, axe_source: str, page_name: str
) -> None:
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    try:
        page.goto((CLEARNET_SITE / f"{page_name}.html").as_uri())
        assert violations(page, axe_source) == []
    finally:
        context.close()
