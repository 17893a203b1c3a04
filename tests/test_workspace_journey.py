"""The researcher's day in a real headless Chromium with JavaScript disabled, against a real
`sealdrop-admin workspace` process: import a bundle (fingerprint step, ack), read a Chinese
tip with a photo and a PDF in the source view, open a case with it, grade and tag it, reply,
export the replies, export the case, verify the custody log. Each step is checked on the
page and, after the workspace is stopped, in the vault through the CLI.

Screenshots of every page go to test-output/workspace/; with SEALDROP_DOCS_SCREENSHOTS=1
they are also written, small, to docs/img/workspace/ for docs/workspace.md."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSPHRASE
from PIL import Image
from workspace_support import CHINESE_NARRATIVE, Filled, filled_vault

from crypto.replies import open_reply, read_reply_bundle, verify_ack

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "test-output" / "workspace"
DOCS_IMG = REPO / "docs" / "img" / "workspace"
ADMIN = str(Path(sys.executable).parent / "sealdrop-admin")


@pytest.fixture
def filled(tmp_path: Path, admin_kdf: object) -> Filled:
    """A vault and a bundle holding a Chinese tip (photo + PDF) and a hostile tip."""
    return filled_vault(tmp_path, import_it=False)


@pytest.fixture
def served(filled: Filled) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`sealdrop-admin workspace --no-browser` and the URL it printed."""
    env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE}
    command = [ADMIN, "workspace", "--vault", str(filled.admin.vault), "--no-browser"]
    process = subprocess.Popen(
        [*command, "--actor", "Li Wei"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


class Shots:
    """Full-page screenshots, numbered in visit order."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0
        OUTPUT.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.count += 1
        path = OUTPUT / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert self.page.locator("script").count() == 0
        if os.environ.get("SEALDROP_DOCS_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as img:
                small = img.convert("RGB").quantize(colors=64)
                small.save(DOCS_IMG / f"{name}.png", optimize=True)


def _cli(filled: Filled, *args: str) -> Any:
    result = filled.admin(*args, "--vault", str(filled.admin.vault), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_researchers_day_in_the_workspace(
    browser: Any, served: tuple[subprocess.Popen[str], str], filled: Filled, tmp_path: Path
) -> None:
    process, url = served
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/", url), url
    context = browser.new_context(
        java_script_enabled=False,
        locale="en-US",
        viewport={"width": 1100, "height": 800},
        accept_downloads=True,
    )
    page = context.new_page()
    shot = Shots(page)
    ack, replies_out, case_out = tmp_path / "ack.sda", tmp_path / "replies.sdr", tmp_path / "C1"

    # Import the bundle: the first import asks for the fingerprint check.
    page.goto(url + "transfer")
    shot("transfer")
    page.fill("#bundle", str(filled.bundle))
    page.fill("#ack", str(ack))
    page.get_by_role("button", name="Check and import").click()
    fingerprint = page.locator(".fingerprint code").inner_text()
    assert re.fullmatch(r"\d{4}( \d{4}){5}", fingerprint)
    shot("transfer-fingerprint")
    page.check("#matches")
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("div.done")  # the progress page streams until the import ends
    assert "Imported 5 envelope(s)." in page.locator("main").inner_text()
    assert "100% imported" in page.locator("main").inner_text()
    shot("transfer-imported")

    # The inbox: both tips unread; the Chinese one says its language.
    page.goto(url)
    shot("inbox")
    row = page.locator("tr", has_text="T1")
    assert "Chinese" in row.inner_text()
    assert "not in a case" in row.inner_text()
    row.get_by_role("link", name="T1").click()

    # The source view: narrative, answers as labels, the photo and the PDF as previews.
    main = page.locator("main")
    assert CHINESE_NARRATIVE in main.inner_text()
    assert "Re-education" in main.inner_text()  # place_type answer, as its label
    assert "Forced DNA or blood collection" in main.inner_text()
    previews = page.locator("img.thumb")
    assert previews.count() == 2
    for i in range(2):
        assert previews.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert "Huawei P30 Pro" in main.inner_text()
    shot("source")
    page.goto(page.url.split("?")[0].split("#")[0] + "?lang=zh-Hans")
    assert "地点：场所类型" in main.inner_text()  # noqa: RUF001 - Chinese punctuation
    shot("source-zh-hans")
    page.goto(url + "?lang=en")
    page.locator("tr", has_text="T1").get_by_role("link", name="T1").click()
    source_url = page.url.split("#")[0]

    # The PDF's attachment page: facts, preview, download only as a file.
    page.get_by_role("link", name="证词.pdf", exact=True).click()
    assert "application/pdf" in main.inner_text()
    assert page.locator("img.preview").evaluate("img => img.naturalWidth > 0")
    shot("attachment")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the original").click()
    download = download_info.value
    pdf_bytes = Path(download.path()).read_bytes()
    assert pdf_bytes.startswith(b"%PDF")

    # A new case from the tip; grade, tag.
    page.goto(source_url)
    page.fill("#new-case-1", "转化班 detentions, 2024")
    page.locator("form:has(#new-case-1) button").click()
    assert "/case/1" in page.url
    page.check("#rel-B")
    page.check("#cred-2")
    page.fill("#rationale", "Lawyer confirms the date.")
    page.get_by_role("button", name="Save the grade").click()
    assert "Graded B2." in main.inner_text()
    page.fill("#add-tag", "新疆, forced DNA")
    page.get_by_role("button", name="Add tags", exact=True).click()
    text = main.inner_text()
    assert "usually reliable" in text
    assert "新疆" in text
    assert "Lawyer confirms the date." in text
    shot("case")
    page.goto(url + "cases")
    assert "转化班 detentions, 2024" in main.inner_text()
    shot("cases")

    # Reply to the source.
    page.goto(source_url)
    page.fill("#reply-text", "我们收到了您的材料。请问是哪一个月？")  # noqa: RUF001
    page.get_by_role("button", name="Sign and queue the reply").click()
    assert "waiting for the next reply export" in main.inner_text()

    # Export the replies.
    page.goto(url + "transfer")
    assert "1 reply is waiting to be sent." in main.inner_text()
    page.fill("#replies-out", str(replies_out))
    page.get_by_role("button", name="Export replies").click()
    assert "Wrote 1 reply to" in main.inner_text()

    # Export the case, with its progress page.
    page.goto(url + "case/1")
    page.fill("#export-out", str(case_out))
    page.get_by_role("button", name="Export the case").click()
    page.wait_for_selector("div.done")
    assert "Exported case C1" in main.inner_text()
    shot("case-export")

    # Search: a two-character Chinese query.
    page.goto(url + "search")
    page.fill("#q", "哥哥")
    page.get_by_role("button", name="Search").click()
    assert "1 tip found." in main.inner_text()
    shot("search")

    # Verify the custody log and read the mark.
    page.goto(url + "custody")
    page.get_by_role("button", name="Verify the chain").click()
    assert "hash chain verified" in main.inner_text()
    mark = page.locator("code.mark").inner_text()
    shot("custody")
    context.close()

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0

    # The vault, through the CLI: every step happened, under the actor's name.
    case = _cli(filled, "case", "show", "C1")
    assert case["grade"] == "B2"
    assert sorted(case["tags"]) == ["forced DNA", "新疆"]
    assert case["tips"] == [1]
    assert any("Lawyer confirms" in n["text"] for n in case["notes"])
    log = _cli(filled, "log")["entries"]
    assert {e["actor"] for e in log} == {"Li Wei"}
    done = {e["action"] for e in log}
    for action in ("import", "trust-instance", "ack", "view", "download", "case-new", "grade"):
        assert action in done, action
    assert {"tag", "note", "reply", "export-replies", "export", "search"} <= done
    verified = _cli(filled, "verify-log")
    assert verified["ok"]
    assert verified["newest"].startswith(mark.split(":")[0] + ":") or int(
        verified["newest"].split(":")[0]
    ) >= int(mark.split(":")[0])
    signer = filled.admin.identity().signer
    acked = verify_ack(ack.read_bytes(), signer, filled.instance.instance_id)
    assert len(acked.envelope_ids) == 5
    sent = read_reply_bundle(
        io.BytesIO(replies_out.read_bytes()), signer, filled.instance.instance_id
    )
    assert open_reply(sent[0].sealed, filled.chinese.reply_key).startswith("我们收到了")
    for line in (case_out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((case_out / name).read_bytes()).hexdigest() == digest
    assert hashlib.sha256(pdf_bytes).hexdigest() in (case_out / "SHA256SUMS").read_text()
