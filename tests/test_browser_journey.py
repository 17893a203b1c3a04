"""The whole journey in a real headless Chromium with JavaScript disabled, against a real
`sealdrop serve --no-tor`, with the real offline tools in between.

In Simplified Chinese (chosen with the page's language link), a source submits a narrative,
questionnaire answers and two files, and reads the receipt off the page. Staff export
(`sealdrop export`); the admin imports, opens a case, adds the tip and replies
(`sealdrop-admin import`, `case new`, `case add`, `reply`, `export-replies`); the server
imports the replies (`sealdrop import-replies`). The source comes back, types the receipt
in full-width digits (as a Chinese IME gives them), reads the reply, deletes it and logs
out. A second source walks the same pages in Uyghur (right-to-left). Every source page is
saved as a screenshot in the test's directory and in test-output/browser-journey/."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from proof_support import (
    Offline,
    base_url,
    holdings,
    make_offline,
    run_cli,
    served,
)
from serve_process import REPO

from intake.instance import create_instance

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OUTPUT = REPO / "test-output" / "browser-journey"
# What a Chinese IME types: full-width digits (U+FF10..U+FF19) and the ideographic space.
FULL_WIDTH = str.maketrans({**{str(d): chr(0xFF10 + d) for d in range(10)}, " ": "\u3000"})


class Source:
    """One person in one browser context with JavaScript off, saving every page it sees."""

    def __init__(self, browser: Any, url: str, lang: str, shots: Path) -> None:
        self.context = browser.new_context(java_script_enabled=False, locale="en-US")
        self.page = self.context.new_page()
        self.url = url
        self.lang = lang
        self.tag, self.direction = {"zh_Hans_CN": ("zh-Hans", "ltr"), "ug": ("ug", "rtl")}[lang]
        self.shots = shots

    def shot(self, name: str) -> None:
        """A full-page screenshot of what the source sees now (numbered in visit order)."""
        count = len(list(self.shots.glob(f"{self.lang}-*.png"))) + 1
        path = self.shots / f"{self.lang}-{count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert self.page.evaluate("1 + 1") == 2  # evaluate works; page scripts do not
        assert self.page.locator("script").count() == 0

    def check_language(self, tag: str, direction: str) -> None:
        """The page is in the chosen language and direction."""
        html = self.page.locator("html")
        assert html.get_attribute("lang") == tag
        assert html.get_attribute("dir") == direction

    def close(self) -> None:
        """Forget everything (cookies included), like closing Tor Browser."""
        self.context.close()


def _files(tmp: Path) -> list[Path]:
    """Two files a source might send: a photo and a document."""
    photo = tmp / "拘留所.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 30, 30)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    document = tmp / "证词.txt"
    document.write_text("证词：他们在周二晚上带走了我的哥哥。\n", encoding="utf-8")  # noqa: RUF001
    return [photo, document]


def _reply_text(lang: str) -> str:
    return {
        "zh-Hans": "我们收到了您的材料。请问是哪一个月？",  # noqa: RUF001
        "ug": "ماتېرىيالىڭىزنى تاپشۇرۇۋالدۇق.",
    }[lang]


def _submit(source: Source, narrative: str, files: list[Path], link: str) -> str:
    """Landing page, language link, form filled and sent; returns the receipt shown."""
    page = source.page
    page.goto(source.url + "/")
    page.get_by_role("link", name=link, exact=True).click()
    source.shot("landing")
    page.fill("#narrative", narrative)
    page.locator("details summary").click()  # native <details>: no script needed
    page.fill("#q_when", "2024年3月")
    page.fill("#q_province", "新疆")
    page.check("input[name=q_what_done][value=detention]")
    page.check("input[name=q_what_done][value=forced_dna]")
    page.check("input[name=q_consent][value=ask_first]")
    if files:
        page.set_input_files("#files", [str(path) for path in files])
    source.shot("form-filled")
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_load_state()
    source.shot("receipt")
    source.check_language(source.tag, source.direction)
    receipt = page.locator("p.receipt bdi").inner_text().strip()
    assert re.fullmatch(r"\d{4}( \d{4}){5}", receipt), receipt  # 20 digits + the check group
    return receipt


def _come_back(source: Source, receipt: str, link: str, reply: str) -> None:
    """Log in with the receipt in full-width digits, read the reply, delete it, log out."""
    page = source.page
    page.goto(source.url + "/")
    page.get_by_role("link", name=link, exact=True).click()
    page.locator("a[href*='/login']").first.click()
    source.shot("login")
    typed = receipt.translate(FULL_WIDTH)
    assert typed != receipt
    assert not any(c in "0123456789" for c in typed)
    page.fill("#receipt", typed)
    page.locator("form[action*='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/source" in page.url, page.content()[-1500:]
    source.shot("reply")
    source.check_language(source.tag, source.direction)
    assert page.locator("p.reply-text").inner_text() == reply
    assert page.locator("p.reply-day").count() == 1  # the day it was sent
    page.locator("article.reply a[href*='/delete']").click()  # asks first, on its own page
    page.wait_for_load_state()
    source.shot("confirm-delete")
    assert page.locator("p.reply-text").inner_text() == reply
    page.locator("button.danger[type=submit]").click()
    page.wait_for_load_state()
    source.shot("reply-deleted")
    assert page.locator("p.reply-text").count() == 0
    assert page.locator("p.ok").count() == 1
    page.locator("form[action*='/logout'] button[type=submit]").click()
    page.wait_for_load_state()
    source.shot("logged-out")
    source.check_language(source.tag, source.direction)
    # The session is gone: the source page now asks for the receipt again.
    page.goto(source.url + "/source")
    assert "/login" in page.url or page.locator("#receipt").count() == 1


def _admin_round(offline: Offline, instance: Path, replies: dict[str, str]) -> list[dict]:
    """Staff export; the admin imports, makes a case of the tips, replies; replies go back."""
    report = offline.carry(instance, "journey")
    assert report["skipped"] == []
    tips = offline.inbox()
    assert len(tips) == len(replies)
    case = json.loads(
        offline.admin("case", "new", "Detentions reported through the form", "--json")
    )
    case_ref = f"C{case['case']}"
    offline.admin("case", "add", case_ref, *[f"T{tip['tip']}" for tip in tips], "--actor", "p")
    shown = json.loads(offline.admin("case", "show", case_ref, "--json", "--actor", "proof"))
    assert len(_find(shown, "tips")) == len(tips)
    for tip in tips:
        language = _tip_language(offline, tip)
        offline.admin(
            "reply", str(tip["source"]), "--message", replies[language], "--actor", "proof"
        )
    bundle = offline.workdir / "replies.sdr"
    offline.admin("export-replies", "--out", str(bundle), "--actor", "proof")
    done = run_cli("sealdrop", "import-replies", "--instance", str(instance), str(bundle))
    assert done.returncode == 0, done.stdout + done.stderr
    assert holdings(instance).replies == len(replies)
    return tips


def _tip_language(offline: Offline, tip: dict) -> str:
    shown = json.loads(offline.admin("show", str(tip["tip"]), "--json", "--actor", "proof"))
    return str(_find(shown, "language"))


def _find(data: Any, key: str) -> Any:
    """The first value of `key` anywhere in a JSON document."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def test_the_whole_journey_in_chinese_and_uyghur_with_javascript_off(
    browser: Any, tmp_path: Path, argon2_cost, database_url: str | None
) -> None:
    offline = make_offline(tmp_path / "offline")
    instance = tmp_path / "instance"
    create_instance(instance, offline.identity_text, argon2_cost, database_url)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    files = _files(tmp_path)
    narrative = "他们在周二晚上带走了我的哥哥，至今没有消息。"  # noqa: RUF001
    ug_narrative = "ئۇلار سەيشەنبە كۈنى ئاكامنى ئېلىپ كەتتى."
    with served(tmp_path, instance, database_url) as server:
        url = base_url(server)
        zh = Source(browser, url, "zh_Hans_CN", shots)
        receipt = _submit(zh, narrative, files, "简体中文")
        zh.close()
        ug = Source(browser, url, "ug", shots)
        ug_receipt = _submit(ug, ug_narrative, [], "ئۇيغۇرچە")
        ug.close()
        assert holdings(instance, database_url).sources == 2

        replies = {"zh-Hans": _reply_text("zh-Hans"), "ug": _reply_text("ug")}
        tips = _admin_round(offline, instance, replies)
        assert holdings(instance, database_url).files == ()  # acked: gone from the server

        zh = Source(browser, url, "zh_Hans_CN", shots)
        _come_back(zh, receipt, "简体中文", replies["zh-Hans"])
        zh.close()
        ug = Source(browser, url, "ug", shots)
        _come_back(ug, ug_receipt, "ئۇيغۇرچە", replies["ug"])
        ug.close()
        after = holdings(instance, database_url)
        assert (after.replies, after.sessions) == (0, 0)

    # What the admin holds is exactly what the source sent.
    by_words = {tip["first_words"]: tip for tip in tips}
    zh_tip = by_words[narrative]
    shown = json.loads(offline.admin("show", str(zh_tip["tip"]), "--json", "--actor", "proof"))
    assert narrative in json.dumps(shown, ensure_ascii=False)
    answers = _find(shown, "answers")
    assert answers["when"] == "2024年3月"
    assert answers["province"] == "新疆"
    assert sorted(answers["what_done"]) == ["detention", "forced_dna"]
    assert answers["consent"] == "ask_first"
    opened = tmp_path / "opened"
    opened.mkdir()
    for path in files:
        offline.admin("open", str(zh_tip["tip"]), path.name, "--to", str(opened), "--actor", "p")
        copy = opened / path.name
        assert (
            hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()
        )

    _keep_screenshots(shots, database_url)


def _keep_screenshots(shots: Path, database_url: str | None) -> None:
    """Every page was saved, in both languages; copy them to test-output/ for people."""
    names = sorted(p.name for p in shots.iterdir())
    for lang in ("zh_Hans_CN", "ug"):
        pages = [n for n in names if n.startswith(lang)]
        for expected in ("landing", "form-filled", "receipt", "login", "reply", "logged-out"):
            assert any(n.endswith(f"-{expected}.png") for n in pages), (lang, expected)
    for name in names:
        with Image.open(shots / name) as image:
            colours = image.convert("L").getextrema()
        assert colours[0] < colours[1], f"{name} is blank"
    target = OUTPUT / ("postgres" if database_url else "sqlite")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in names:
        shutil.copy2(shots / name, target / name)


@pytest.mark.parametrize("refusal", ["over-the-limit", "free-space-reserve"])
def test_a_refused_large_upload_shows_the_page_not_a_connection_error(
    browser: Any, tmp_path: Path, admin_keys, argon2_cost, refusal: str
) -> None:
    """The server answers before reading a 30 MB body and stops reading; the browser, still
    sending, must show the page (in Chinese), not a reset connection. Nothing is kept."""
    instance = tmp_path / "instance"
    create_instance(instance, admin_keys.identity.to_text(), argon2_cost)
    config = instance / "config.toml"
    text = config.read_text()
    if refusal == "over-the-limit":
        text = text.replace("max_file_bytes = 2147483648", "max_file_bytes = 100000")
    else:  # more free space than any disk has: every tip is refused up front
        text = re.sub(r"(?m)^reserve_free_bytes = \d+$", f"reserve_free_bytes = {10**18}", text)
    config.write_text(text)
    video = tmp_path / "视频.mp4"
    video.write_bytes(os.urandom(30 * 1024 * 1024))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with served(tmp_path, instance, None) as server:
        source = Source(browser, base_url(server), "zh_Hans_CN", shots)
        page = source.page
        page.goto(source.url + "/?lang=zh-Hans")
        page.fill("#narrative", "视频在附件里。")
        page.set_input_files("#files", str(video))
        with page.expect_response(lambda answer: "/submit" in answer.url) as answered:
            page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
        page.wait_for_load_state()
        source.shot(refusal)
        assert answered.value.status == (413 if refusal == "over-the-limit" else 503)
        # Our page in the chosen language, not Chromium's "connection reset" page.
        assert page.url.startswith(source.url + "/submit")
        source.check_language("zh-Hans", "ltr")
        assert page.locator("main h1").count() == 1
        assert page.locator("main p.error").inner_text().strip()
        source.close()
        now = holdings(instance)
        assert (now.sources, now.envelopes, now.files, now.tmp_files) == (0, 0, (), ())
        assert server.process.poll() is None
    target = OUTPUT / "refusals"
    target.mkdir(parents=True, exist_ok=True)
    for path in shots.iterdir():
        shutil.copy2(path, target / path.name)
