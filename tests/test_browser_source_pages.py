"""Source pages of issue 17 in a real headless Chromium with JavaScript off, against a real
`sealdrop serve --no-tor`: after New Identity (every cookie gone) a filled form comes back
filled, saying nothing was sent, and sends; a receipt with one digit wrong is called a
typing mistake; the size limits are on the form; a file named with U+202E is refused.
Pages in Simplified Chinese and Uyghur (right-to-left), chosen with the language links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from proof_support import base_url, holdings, make_offline, served

from intake.instance import create_instance

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path, argon2_cost) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """A served instance (SQLite: these pages are about the browser, not the database)."""
    offline = make_offline(tmp_path / "offline")
    instance = tmp_path / "instance"
    create_instance(instance, offline.identity_text, argon2_cost, None)
    with served(tmp_path, instance, None) as process:
        yield base_url(process), instance


def _page(browser: Any, url: str, link: str) -> tuple[Any, Any]:
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(url + "/")
    page.get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state()
    return context, page


SEND = "form[enctype='multipart/form-data'] button[type=submit]"


def test_after_new_identity_the_form_comes_back_filled_and_sends(
    browser: Any, server: tuple[str, Path], tmp_path: Path
) -> None:
    url, instance = server
    context, page = _page(browser, url, "简体中文")
    narrative = "他们在周二晚上带走了我的哥哥。这是一段很长的叙述。\n第二行。"
    page.fill("#narrative", narrative)
    page.locator("details summary").click()
    page.fill("#q_when", "2024年3月")
    page.check("input[name=q_what_done][value=detention]")
    photo = tmp_path / "照片.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    page.set_input_files("#files", [str(photo)])
    context.clear_cookies()  # Tor Browser's New Identity, with the page still open
    page.locator(SEND).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    alert = page.locator("div[role=alert]").inner_text()
    assert "没有发送任何内容" in alert  # "Nothing was sent"
    assert "请重新选择你的文件" in alert  # files must be chosen again
    assert page.input_value("#narrative") == narrative
    assert page.locator("details").get_attribute("open") is not None
    assert page.input_value("#q_when") == "2024年3月"
    assert page.is_checked("input[name=q_what_done][value=detention]")
    assert holdings(instance).sources == 0
    page.set_input_files("#files", [str(photo)])
    page.locator(SEND).click()
    page.wait_for_load_state()
    assert page.locator("p.receipt bdi").count() == 1
    assert holdings(instance).sources == 1
    context.close()


def test_a_typo_in_the_receipt_is_called_a_typing_mistake(
    browser: Any, server: tuple[str, Path]
) -> None:
    url, _instance = server
    context, page = _page(browser, url, "ئۇيغۇرچە")
    page.fill("#narrative", "ئۇلار سەيشەنبە كۈنى ئاكامنى ئېلىپ كەتتى.")
    page.locator(SEND).click()
    page.wait_for_load_state()
    receipt = page.locator("p.receipt bdi").inner_text().strip()
    page.locator("a[href*='/login']").first.click()
    page.wait_for_load_state()
    wrong = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    page.fill("#receipt", wrong)
    page.locator("form[action*='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    error = page.locator("#receipt-error").inner_text()
    assert "خاتا يېزىلغان" in error  # "a typing mistake", in Uyghur
    page.fill("#receipt", receipt)
    page.locator("form[action*='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/source" in page.url
    context.close()


def test_the_limits_are_stated_and_a_disguised_name_is_refused(
    browser: Any, server: tuple[str, Path], tmp_path: Path
) -> None:
    url, instance = server
    context, page = _page(browser, url, "简体中文")
    hint = page.locator("#files-hint").inner_text()
    assert "每个文件最大" in hint
    assert "MB" in hint
    page.fill("#narrative", "文件名有问题")
    disguised = tmp_path / "photo\u202egpj.exe"
    disguised.write_bytes(b"MZ")
    page.set_input_files("#files", [str(disguised)])
    page.locator(SEND).click()
    page.wait_for_load_state()
    assert "看不见的字符" in page.locator("p.error").inner_text()
    assert holdings(instance).sources == 0
    context.close()
