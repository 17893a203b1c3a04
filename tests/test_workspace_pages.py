"""Each workspace page through the real app: what a person sees, and what the vault then
holds (the same operations as the CLI, each action in the custody log under the actor)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from admin_support import FakeInstance, Source, make_vault
from nacl.public import PrivateKey
from PIL import Image
from workspace_support import (
    CHINESE_NARRATIVE,
    HOSTILE_FILENAME,
    Filled,
    filled_vault,
    minimal_odt,
    workspace,
)

from admin import custody
from admin.previews import NoPreview, png_from_pixels
from crypto.replies import open_reply, read_reply_bundle, verify_ack


@pytest.fixture
def filled(tmp_path: Path, admin_kdf: object) -> Filled:
    """A vault with a Chinese tip (photo + PDF) and a hostile tip imported."""
    return filled_vault(tmp_path)


def _actions(vault: object) -> list[tuple[str, str, str]]:
    rows = vault.db.execute("SELECT actor, action, object FROM custody ORDER BY seq")  # type: ignore[attr-defined]
    return [tuple(r) for r in rows]


def test_inbox_lists_unread_first_then_newest_with_language_files_and_case(
    filled: Filled,
) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        html = browser.get("/").text
        # T2 (2024-05-02) before T1 (2024-05-01): both unread, newest first.
        assert html.index(">T2<") < html.index(">T1<")
        assert "Chinese" in html  # the source's language, named in the staff language
        assert CHINESE_NARRATIVE[:20] in html
        assert "not in a case" in html
        browser.post(f"/source/{filled.hostile.source_id}/read", {"read": "1"})
        html = browser.get("/").text
        assert html.index(">T1<") < html.index(">T2<")  # unread first
        browser.post("/cases/new", {"title": "转化班", "tip": "T1"})
        html = browser.get("/").text
        row = re.search(r"<tr class=\"unread\">.*?</tr>", html, re.S)
        assert row
        assert ">T1<" in row.group(0)
        assert "already in a case" in row.group(0)
        assert ("researcher", "mark-read", "tips") in _actions(vault)


def test_inbox_filters_and_pages(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        only_zh = browser.get("/?language=zh_Hans_CN").text
        assert ">T1<" in only_zh
        assert ">T2<" not in only_zh
        day = browser.get("/?day=2024-05-02").text
        assert ">T2<" in day
        assert ">T1<" not in day
        unread = browser.get("/?status=unread&files=1").text
        assert ">T1<" in unread
        assert ">T2<" in unread
        assert ">T1<" not in browser.get("/?status=read").text
        assert "No tips match." in browser.get("/?status=starred").text


def test_inbox_pages_by_keyset(tmp_path: Path, admin_kdf: object) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = []
    for n in range(55):
        envelopes += instance.submit(Source(), f"tip {n}", received=f"2024-01-{n % 28 + 1:02d}")
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    assert admin("import", "--vault", str(admin.vault), str(bundle), "--silent").exit_code == 0
    with workspace(admin.vault) as (browser, _vault):
        first = browser.get("/").text
        shown = re.findall(r">T(\d+)<", first)
        assert len(shown) == 50
        link = re.search(r'href="[^"]*/\?after=([^"&]+)', first)
        assert link, "no next-page link"
        second = browser.get(f"/?after={link.group(1)}").text
        rest = re.findall(r">T(\d+)<", second)
        assert len(rest) == 5
        assert set(shown) | set(rest) == {str(n) for n in range(1, 56)}
        assert 'rel="next"' not in second


def test_source_page_is_one_conversation_with_labels_in_the_staff_language(
    filled: Filled,
) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        browser.post(f"/source/{filled.chinese.source_id}/reply", {"text": "请问是哪一个月？"})  # noqa: RUF001
        html = browser.get(f"/source/{filled.chinese.source_id}?lang=fr").text
        assert CHINESE_NARRATIVE in html
        # Question text and option labels, not ids, in the chosen staff language.
        assert "Où : type de lieu" in html or "type de lieu" in html
        assert "place_type" not in html
        assert "reeducation_centre" not in html
        assert "Détention" in html
        html = browser.get(f"/source/{filled.chinese.source_id}?lang=zh-Hans").text
        assert "地点类型" in html or "场所" in html
        assert "拘留所.jpg" in html
        assert "证词.pdf" in html
        assert html.index(CHINESE_NARRATIVE) < html.index("请问是哪一个月")
        # Photo metadata that matters for verification.
        assert "2024:03:14 09:26:53" in html
        assert "Huawei P30 Pro" in html
        assert "39.47" in html
        views = [a for a in _actions(vault) if a[1] == "view"]
        assert ("researcher", "view", "tip:1") in views


def test_star_and_read_flags_change_the_vault_and_the_log(filled: Filled) -> None:
    sid = filled.chinese.source_id
    with workspace(filled.admin.vault) as (browser, vault):
        browser.post(f"/source/{sid}/star", {"star": "1"})
        assert vault.db.execute("SELECT actor FROM source_stars").fetchone()[0] == "researcher"
        assert "Remove star" in browser.get(f"/source/{sid}").text
        assert ">T1<" in browser.get("/?status=starred").text
        browser.post(f"/source/{sid}/read", {"read": "1"})
        assert [tuple(r) for r in vault.db.execute("SELECT tip_id FROM tip_reads")] == [(1,)]
        browser.post(f"/source/{sid}/read", {"read": "0"})
        assert vault.db.execute("SELECT count(*) FROM tip_reads").fetchone()[0] == 0
        acts = [a[1] for a in _actions(vault)]
        assert {"star", "mark-read", "mark-unread"} <= set(acts)


def test_reply_is_signed_and_queued_as_the_cli_does(filled: Filled, tmp_path: Path) -> None:
    sid = filled.chinese.source_id
    with workspace(filled.admin.vault) as (browser, vault):
        answer = browser.post(f"/source/{sid}/reply", {"text": "我们收到了。"})
        assert answer.status_code == 303
        page = browser.get(f"/source/{sid}").text
        assert "我们收到了。" in page
        assert "waiting for the next reply export" in page
        assert browser.post(f"/source/{sid}/reply", {"text": "  "}).status_code == 400
        out = tmp_path / "replies.sdr"
        done = browser.post("/transfer/replies", {"out": str(out)})
        assert "Wrote 1 reply to" in done.text
        signer = vault.signing_key().verify_key
    replies = read_reply_bundle(io.BytesIO(out.read_bytes()), signer, filled.instance.instance_id)
    assert [r.source_id for r in replies] == [sid]
    assert open_reply(replies[0].sealed, filled.chinese.reply_key) == "我们收到了。"
    with pytest.raises(Exception, match="cannot be opened"):
        open_reply(replies[0].sealed, PrivateKey.generate())


def test_case_work_from_the_board_to_the_export(filled: Filled, tmp_path: Path) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        opened = browser.post("/cases/new", {"title": "强制DNA采集", "tip": "T1"})
        assert opened.headers["Location"].endswith("/case/1")
        browser.post(
            "/case/1/grade", {"reliability": "B", "credibility": "2", "rationale": "律师证实"}
        )
        browser.post("/case/1/tags", {"add": "新疆, dna"})
        browser.post("/case/1/note", {"text": "Called the lawyer."})
        browser.post("/case/1/status", {"status": "verifying", "reason": ""})
        browser.post("/cases/add", {"case": "1", "tips": "T2"})
        page = browser.get("/case/1").text
        for seen in ("强制DNA采集", "B2", "usually reliable", "probably true", "律师证实", "新疆"):
            assert seen in page
        assert "verifying" in page
        assert "Called the lawyer." in page
        board = browser.get("/cases").text
        assert "强制DNA采集" in board
        assert "2 tips" in board
        browser.post("/case/1/remove", {"tip": "2"})
        browser.post("/case/1/tags", {"remove": "dna"})
        case = vault.db.execute("SELECT reliability, credibility, status FROM cases").fetchone()
        assert tuple(case) == ("B", "2", "verifying")
        assert [r[0] for r in vault.db.execute("SELECT tag FROM case_tags")] == ["新疆"]
        assert [tuple(r) for r in vault.db.execute("SELECT tip_id FROM case_tips")] == [(1,)]
        bad = browser.post("/case/1/status", {"status": "closed", "reason": ""})
        assert bad.status_code == 400
        assert "closing a case needs" in bad.text
        out = tmp_path / "case-C1"
        export = browser.post("/case/1/export", {"out": str(out)})
        assert "100% written" in export.text or "Exported case C1" in export.text
        assert "Exported case C1: " in export.text
        sums = (out / "SHA256SUMS").read_text()
        assert "拘留所.jpg" in sums
        assert "证词.pdf" in sums
        again = browser.post("/case/1/export", {"out": str(out)})
        assert "The export stopped:" in again.text
        assert "already exists" in again.text
        acts = {a[1] for a in _actions(vault) if a[2] == "case:1"}
        assert {"case-new", "case-add", "grade", "note", "tag", "status", "export"} <= acts


@pytest.mark.parametrize("query", ["转", "新疆", "转化班", "哥哥"])
def test_search_finds_chinese_of_one_two_and_more_characters(filled: Filled, query: str) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        html = browser.get(f"/search?q={query}").text
        assert ">T1<" in html
        assert ">T2<" not in html
        assert ("researcher", "search", "vault") in _actions(vault)


def test_custody_page_verifies_the_chain_and_gives_the_mark(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        html = browser.get("/custody?verify=1").text
        newest = custody.verify(vault.db).newest
        assert newest is not None
        assert "hash chain verified" in html
        assert str(newest) in html
        assert "away from this laptop" in html
        assert "unchanged" in browser.get(f"/custody?verify=1&expect={newest}").text
        vault.db.execute("UPDATE custody SET actor = 'mallory' WHERE seq = 2")
        broken = browser.get("/custody?verify=1").text
        assert "broken at entry 2" in broken
        vault.db.rollback()


def test_custody_log_pages(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        for n in range(60):  # more than one page of the log
            browser.post("/cases/new", {"title": f"c{n}"})
        total = vault.db.execute("SELECT count(*) FROM custody").fetchone()[0]
        first = browser.get("/custody").text
        link = re.search(r'href="([^"]*custody\?page=(\d+))"', first)
        assert link
        second = browser.get(f"/custody?page={link.group(2)}").text
        seen = re.findall(r"<tr><td>(\d+)</td>", first) + re.findall(r"<tr><td>(\d+)</td>", second)
        assert len(seen) == len(set(seen)) == min(total, 100)


def test_transfer_import_asks_for_the_fingerprint_first_then_writes_the_ack(
    tmp_path: Path, admin_kdf: object
) -> None:
    filled = filled_vault(tmp_path, import_it=False)
    ack = tmp_path / "ack.sda"
    with workspace(filled.admin.vault) as (browser, vault):
        check = browser.post("/transfer/import", {"bundle": str(filled.bundle), "ack": str(ack)})
        fingerprint = re.search(r"<code>(\d{4}( \d{4}){5})</code>", check.text)
        assert fingerprint, check.text
        assert vault.db.execute("SELECT count(*) FROM tips").fetchone()[0] == 0
        done = browser.post(
            "/transfer/import",
            {"bundle": str(filled.bundle), "ack": str(ack), "fingerprint_matches": "1"},
        )
        assert "Imported 5 envelope(s)." in done.text
        assert fingerprint.group(1) in done.text
        assert vault.db.execute("SELECT count(*) FROM tips").fetchone()[0] == 2
        signer = vault.signing_key().verify_key
        # The same bundle again: no question (the server is known), nothing twice.
        again = browser.post("/transfer/import", {"bundle": str(filled.bundle)})
        assert "5 envelope(s) were already in the vault." in again.text
        acts = {a[1] for a in _actions(vault)}
        assert {"trust-instance", "import", "ack"} <= acts
    acked = verify_ack(ack.read_bytes(), signer, filled.instance.instance_id)
    assert len(acked.envelope_ids) == 5


def test_transfer_refuses_a_missing_bundle_with_a_clear_error(
    filled: Filled, tmp_path: Path
) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        answer = browser.post("/transfer/import", {"bundle": str(tmp_path / "nope.sdb")})
        assert answer.status_code == 400
        assert "no file" in answer.text
        assert "Check the path" in answer.text
        relative = browser.post("/transfer/import", {"bundle": "bundle.sdb"})
        assert relative.status_code == 400
        assert "full path" in relative.text


def test_previews_are_pngs_redrawn_from_sandbox_pixels(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        rows = vault.db.execute("SELECT envelope_id, filename FROM envelopes WHERE kind = 'file'")
        ids = {name: eid for eid, name in rows}
        for name in ("拘留所.jpg", "证词.pdf"):
            answer = browser.get(f"/file/{ids[name]}/preview.png")
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == "image/png"
            with Image.open(io.BytesIO(answer.data)) as img:
                assert img.format == "PNG"
                assert not img.info.get("exif")
            assert f"/file/{ids[name]}/preview.png" in browser.get(f"/file/{ids[name]}").text
        assert browser.get(f"/file/{ids[HOSTILE_FILENAME]}/preview.png").status_code == 404
        assert "No preview" in browser.get(f"/file/{ids[HOSTILE_FILENAME]}").text


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _office_tip(tmp_path: Path) -> Path:
    """A vault holding one Chinese tip with an ODT and a 'DOCX' that is garbage bytes."""
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    files = [
        ("证词.odt", "application/vnd.oasis.opendocument.text", minimal_odt(CHINESE_NARRATIVE)),
        ("损坏.docx", DOCX, b"PK\x03\x04" + bytes(range(256)) * 16),
    ]
    envelopes = instance.submit(Source(), CHINESE_NARRATIVE, files=files, language="zh_Hans_CN")
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    assert admin("import", "--vault", str(admin.vault), str(bundle), "--silent").exit_code == 0
    return admin.vault


def _file_ids(vault: object) -> dict[str, str]:
    rows = vault.db.execute("SELECT envelope_id, filename FROM envelopes WHERE kind = 'file'")  # type: ignore[attr-defined]
    return {name: eid for eid, name in rows}


def test_an_office_document_is_previewed_by_libreoffice_in_the_sandbox(
    tmp_path: Path, admin_kdf: object
) -> None:
    with workspace(_office_tip(tmp_path)) as (browser, vault):
        ids = _file_ids(vault)
        odt = ids["证词.odt"]
        answer = browser.get(f"/file/{odt}/preview.png")
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(answer.data)) as img:
            assert img.format == "PNG"
            darkest, _lightest = img.convert("L").getextrema()
        assert darkest < 128, "the first page came back blank: the Chinese line is not drawn"
        assert f"/file/{odt}/preview.png" in browser.get(f"/file/{odt}").text
        broken = browser.get(f"/file/{ids['损坏.docx']}")
        assert broken.status_code == 200
        assert "No preview" in broken.text
        assert "LibreOffice could not convert this document" in broken.text
        assert browser.get(f"/file/{ids['损坏.docx']}/preview.png").status_code == 404
        assert browser.get(f"/file/{odt}/preview.png").status_code == 200


def test_without_libreoffice_an_office_document_says_no_preview_and_why(
    tmp_path: Path, admin_kdf: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    only_bwrap = tmp_path / "bin"
    only_bwrap.mkdir()
    (only_bwrap / "bwrap").symlink_to(bwrap)
    vault_dir = _office_tip(tmp_path)
    monkeypatch.setenv("PATH", str(only_bwrap))
    with workspace(vault_dir) as (browser, vault):
        ids = _file_ids(vault)
        page = browser.get(f"/file/{ids['证词.odt']}")
        assert page.status_code == 200
        assert "No preview" in page.text
        assert "LibreOffice is not installed" in page.text
        assert browser.get(f"/file/{ids['证词.odt']}/preview.png").status_code == 404


@pytest.mark.parametrize(
    "raw",
    [b"", b"2 2\n" + b"\0" * 11, b"2 2\n" + b"\0" * 13, b"9999 1\n", b"<svg/>", b"0 0\n"],
)
def test_malformed_sandbox_pixels_are_refused(raw: bytes) -> None:
    with pytest.raises(NoPreview):
        png_from_pixels(raw)


def test_json_of_the_custody_details_stays_text(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        browser.get("/search?q=<script>x")
        html = browser.get("/custody").text
        assert "<script>x" not in html
        assert "&lt;script&gt;x" in html
        details = vault.db.execute("SELECT details FROM custody WHERE action='search'").fetchone()
        assert json.loads(details[0])["query"] == "<script>x"


def test_short_chinese_queries_continue_into_older_tips(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin.tips

    # One- and two-character queries scan a bounded window of the newest texts per page.
    monkeypatch.setattr(admin.tips, "SHORT_QUERY_WINDOW", 2)
    with workspace(filled.admin.vault) as (browser, _vault):
        first = browser.get("/search?q=哥").text
        assert ">T1<" not in first
        link = re.search(r'href="([^"]*search\?[^"]*before=\d+[^"]*)"', first)
        assert link, "no link to older tips"
        prefix = "/" + browser.secret
        older = browser.get(link.group(1).replace("&amp;", "&").removeprefix(prefix)).text
        assert ">T1<" in older


def test_tips_picked_in_the_inbox_go_into_a_case(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        browser.post("/cases/new", {"title": "Picked"})
        inbox = browser.get("/").text
        assert 'name="tip" value="T1"' in inbox
        answer = browser.post("/cases/add", {"case": "C1", "tip": ["T1", "T2"], "back": "/"})
        assert answer.status_code == 303
        rows = vault.db.execute("SELECT tip_id FROM case_tips WHERE case_id = 1 ORDER BY tip_id")
        assert [r[0] for r in rows] == [1, 2]
        assert "Added to case C1: T1, T2." in browser.get("/").text


def test_a_truncated_bundle_imports_what_arrived_and_says_so(
    tmp_path: Path, admin_kdf: object
) -> None:
    filled = filled_vault(tmp_path, import_it=False)
    data = filled.bundle.read_bytes()
    cut = tmp_path / "cut.sdb"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with workspace(filled.admin.vault) as (browser, vault):
        form = {"bundle": str(cut), "fingerprint_matches": "1"}
        page = browser.post("/transfer/import", form).text
        assert "The bundle is truncated" in page
        kept = vault.db.execute("SELECT count(*) FROM envelopes").fetchone()[0]
        assert 0 < kept < 5
        assert f"Imported {kept} envelope(s)." in page


def test_a_follow_up_joins_its_sources_conversation_and_says_the_source_is_in_a_case(
    tmp_path: Path, admin_kdf: object
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    first = instance.submit(source, "第一次：他被带走了。", received="2024-05-01")  # noqa: RUF001
    assert (
        admin(
            "import",
            "--vault",
            str(admin.vault),
            str(instance.bundle(tmp_path / "a.sdb", first)),
            "--silent",
        ).exit_code
        == 0
    )
    with workspace(admin.vault) as (browser, _vault):
        browser.post("/cases/new", {"title": "C", "tip": "T1"})
    later = instance.submit(source, "补充：他在看守所。", received="2024-06-01")  # noqa: RUF001
    assert (
        admin(
            "import",
            "--vault",
            str(admin.vault),
            str(instance.bundle(tmp_path / "b.sdb", later)),
            "--silent",
        ).exit_code
        == 0
    )
    with workspace(admin.vault) as (browser, _vault):
        inbox = browser.get("/?status=new").text
        row = re.search(r"<tr class=\"unread\">.*?</tr>", inbox, re.S)
        assert row is not None
        assert ">T2<" in row.group(0)
        assert "already in a case" in row.group(0)
        page = browser.get(f"/source/{source.source_id}").text
        assert page.index("第一次") < page.index("补充")
        assert 'id="tip-1"' in page
        assert 'id="tip-2"' in page
