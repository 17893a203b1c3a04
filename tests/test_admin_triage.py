"""Triage: inbox, show (with photo metadata), open, search (Chinese and short queries)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from admin_support import (
    AdminRunner,
    FakeInstance,
    Source,
    make_jpeg_with_exif,
    make_vault,
    tree_digest,
)

from crypto.kdf import Argon2Cost

NARRATIVE_ZH = "2019年我被送进转化班学习，地点在新疆喀什。每天都要唱歌，不准说维吾尔语。"  # noqa: RUF001 - Chinese punctuation on purpose
NARRATIVE_EN = "Police came to our house in Lhasa and took my father. We have not heard from him."


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    first, second = Source(), Source()
    envelopes = instance.submit(
        first,
        NARRATIVE_ZH,
        answers={"where": "新疆 喀什", "what_done": ["forced re-education", "surveillance"]},
        files=[
            ("photo.jpg", "image/jpeg", make_jpeg_with_exif()),
            ("notes.txt", "text/plain", b"n"),
        ],
        received="2024-04-30",
    )
    envelopes += instance.submit(
        second, NARRATIVE_EN, answers={"where": "Lhasa"}, received="2024-05-01"
    )
    envelopes += instance.submit(
        first, "Second message from the same source.", received="2024-05-02"
    )
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    vault.sources = (first, second)  # type: ignore[attr-defined]
    return vault


def _json(result: object) -> dict:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_inbox_lists_new_tips_newest_first(admin: AdminRunner) -> None:
    first, second = admin.sources  # type: ignore[attr-defined]
    listing = _json(admin("inbox", "--json"))
    tips = listing["tips"]
    assert [(t["tip"], t["source"]) for t in tips] == [
        (3, first.source_id),
        (2, second.source_id),
        (1, first.source_id),
    ]
    assert {k: listing[k] for k in ("page", "limit", "total", "not_shown", "next_before")} == {
        "page": 1,
        "limit": 50,
        "total": 3,
        "not_shown": 0,
        "next_before": None,
    }
    one = next(t for t in tips if t["tip"] == 1)
    assert one["received"] == "2024-04-30"
    assert one["files"] == 2
    assert one["first_words"].startswith("2019年我被送进转化班学习")
    assert (
        one["answers_summary"] == "what_done: forced re-education, surveillance; where: 新疆 喀什"
    )
    assert one["cases"] == []
    assert set(one) == {
        "tip",
        "source",
        "received",
        "size",
        "files",
        "first_words",
        "answers_summary",
        "cases",
    }


def test_inbox_human_output_and_tips_in_a_case_leave_it(admin: AdminRunner) -> None:
    first, _second = admin.sources  # type: ignore[attr-defined]
    result = admin("inbox")
    assert result.exit_code == 0
    assert f"Source {first.source_id[:12]}" in result.stdout
    assert "T1" in result.stdout
    assert "2024-04-30" in result.stdout
    assert admin("case", "new", "x").exit_code == 0
    assert admin("case", "add", "C1", "T1", "T2", "T3").exit_code == 0
    assert admin("inbox").stdout == "No new tips.\n"
    assert len(_json(admin("inbox", "--all", "--json"))["tips"]) == 3


def test_inbox_pages_and_the_count_of_what_is_not_shown(admin: AdminRunner) -> None:
    page1 = _json(admin("inbox", "--limit", "2", "--json"))
    assert [t["tip"] for t in page1["tips"]] == [3, 2]
    assert (page1["total"], page1["not_shown"], page1["next_before"]) == (3, 1, 2)
    page2 = _json(admin("inbox", "--limit", "2", "--page", "2", "--json"))
    assert [t["tip"] for t in page2["tips"]] == [1]
    assert (page2["not_shown"], page2["next_before"]) == (2, None)
    keyset = _json(admin("inbox", "--limit", "2", "--before", "T2", "--json"))
    assert [t["tip"] for t in keyset["tips"]] == [1]
    human = admin("inbox", "--limit", "2").stdout
    assert "Page 1: 2 of 3 new tips shown (1 not shown)." in human
    assert "Next page: sealdrop-admin inbox --limit 2 --page 2" in human
    # Tips in a case leave the inbox and its count.
    assert admin("case", "new", "x").exit_code == 0
    assert admin("case", "add", "C1", "T3").exit_code == 0
    after = _json(admin("inbox", "--limit", "2", "--json"))
    assert ([t["tip"] for t in after["tips"]], after["total"]) == ([2, 1], 2)
    assert _json(admin("inbox", "--all", "--json"))["total"] == 3
    for bad in (("--page", "0"), ("--limit", "0"), ("--limit", "1001")):
        refused = admin("inbox", *bad)
        assert refused.exit_code == 1
        assert refused.output.startswith(f"Error: {bad[0]} {bad[1]}:")


def test_show_gives_narrative_answers_files_and_photo_metadata(admin: AdminRunner) -> None:
    detail = _json(admin("show", "T1", "--json"))
    assert detail["narrative"] == NARRATIVE_ZH
    assert detail["answers"]["where"] == "新疆 喀什"
    photo = next(f for f in detail["files"] if f["filename"] == "photo.jpg")
    assert photo["sha256"] == hashlib.sha256(make_jpeg_with_exif()).hexdigest()
    assert photo["content_type"] == "image/jpeg"
    assert photo["image"]["date_taken"] == "2024:03:14 09:26:53"
    assert photo["image"]["camera"] == "Huawei P30 Pro"
    assert photo["image"]["gps"] == {"latitude": 39.47, "longitude": 75.99}
    notes = next(f for f in detail["files"] if f["filename"] == "notes.txt")
    assert notes["image"] is None
    human = admin("show", "1")
    assert human.exit_code == 0
    assert "转化班" in human.stdout
    assert "Huawei P30" in human.stdout
    assert "39.47, 75.99" in human.stdout


def test_show_is_recorded_in_the_custody_log(admin: AdminRunner) -> None:
    assert admin("show", "T2").exit_code == 0
    entries = _json(admin("log", "--json", "--object", "tip:2"))["entries"]
    assert [e["action"] for e in entries] == ["import", "view"]
    assert entries[-1]["actor"] == "tester"


@pytest.mark.parametrize(
    "command", [("show", "T99"), ("open", "T99", "x.jpg", "--to", "."), ("show", "T99", "--json")]
)
def test_unknown_tip(admin: AdminRunner, command: tuple[str, ...]) -> None:
    before = tree_digest(admin.vault)
    result = admin(*command)
    assert result.exit_code == 1
    assert "Error: there is no tip T99." in result.output
    assert tree_digest(admin.vault) == before


def test_a_malformed_tip_number_is_explained(admin: AdminRunner) -> None:
    result = admin("show", "first")
    assert result.exit_code == 1
    assert "is not a tip number. Tip numbers look like 12 or T12." in result.output


def test_open_writes_a_verified_plaintext_copy_and_never_overwrites(
    admin: AdminRunner, tmp_path: Path
) -> None:
    out = tmp_path / "work"
    out.mkdir()
    result = admin("open", "T1", "photo.jpg", "--to", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "photo.jpg").read_bytes() == make_jpeg_with_exif()
    digest = hashlib.sha256((out / "photo.jpg").read_bytes()).hexdigest()
    assert f"(SHA-256 {digest}, verified)" in result.stdout
    again = admin("open", "T1", "photo.jpg", "--to", str(out))
    assert again.exit_code == 1
    assert "already exists: it is never overwritten" in again.output
    entries = _json(admin("log", "--json", "--object", "tip:1"))["entries"]
    assert [e["action"] for e in entries].count("open") == 1


def test_open_refuses_unknown_files_missing_folders_and_the_vault(
    admin: AdminRunner, tmp_path: Path
) -> None:
    assert (
        "tip T1 has no file 'nope.pdf'"
        in admin("open", "T1", "nope.pdf", "--to", str(tmp_path)).output
    )
    missing = admin("open", "T1", "photo.jpg", "--to", str(tmp_path / "missing"))
    assert "does not exist. Create it first." in missing.output
    inside = admin("open", "T1", "photo.jpg", "--to", str(admin.vault / "content"))
    assert "inside the vault" in inside.output


def test_search_finds_chinese_with_the_trigram_index(admin: AdminRunner) -> None:
    hits = _json(admin("search", "转化班", "--json"))["hits"]
    assert [h["tip"] for h in hits] == [1]
    assert hits[0]["fields"] == ["narrative"]
    assert "转化班" in hits[0]["snippet"]
    assert [h["tip"] for h in _json(admin("search", "维吾尔语", "--json"))["hits"]] == [1]
    assert _json(admin("search", "转化所", "--json"))["hits"] == []


def test_search_two_character_chinese_falls_back_to_substring_match(admin: AdminRunner) -> None:
    hits = _json(admin("search", "新疆", "--json"))["hits"]
    assert [h["tip"] for h in hits] == [1]
    assert sorted(hits[0]["fields"]) == ["narrative", "where"]
    assert _json(admin("search", "西藏", "--json"))["hits"] == []


def test_search_latin_text_is_case_insensitive_and_covers_answers(admin: AdminRunner) -> None:
    assert [h["tip"] for h in _json(admin("search", "lhasa", "--json"))["hits"]] == [2]
    assert [h["tip"] for h in _json(admin("search", "re-education", "--json"))["hits"]] == [1]
    human = admin("search", "father")
    assert "T2" in human.stdout
    assert admin("search", "zebra").stdout == "No tip contains 'zebra'.\n"


def test_search_with_quotes_and_wildcards_is_literal(admin: AdminRunner) -> None:
    assert _json(admin("search", '"OR" *', "--json"))["hits"] == []
    assert _json(admin("search", "%", "--json"))["hits"] == []
    empty = admin("search", "  ")
    assert empty.exit_code == 1
    assert "the search text is empty" in empty.output


def test_terminal_control_characters_in_a_tip_are_shown_not_obeyed(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    hostile = "clear\x1b[2J\x1b]0;pwned\x07 csi\x9b31m end"
    envelopes = instance.submit(
        Source(),
        hostile,
        answers={"where": hostile},
        files=[(f"f{hostile}.txt", "text/plain", b"x")],
    )
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    for args in (("show", "T1"), ("inbox",), ("search", "clear"), ("log",)):
        result = vault(*args)
        assert result.exit_code == 0
        for raw in ("\x1b", "\x07", "\x9b"):
            assert raw not in result.output, (args, raw)
    shown = vault("show", "T1").stdout
    assert "clear\\x1b[2J\\x1b]0;pwned\\x07 csi\\x9b31m end" in shown
    # --json keeps the exact text, escaped the JSON way.
    assert json.loads(vault("show", "T1", "--json").stdout)["narrative"] == hostile


def test_show_reports_a_damaged_stored_photo_and_still_shows_the_tip(admin: AdminRunner) -> None:
    detail = _json(admin("show", "T1", "--json"))
    photo = next(f for f in detail["files"] if f["filename"] == "photo.jpg")
    assert photo["problem"] is None
    stored = admin.vault / "content" / f"{photo['envelope_id']}.sdv"
    data = bytearray(stored.read_bytes())
    data[-2] ^= 1
    stored.write_bytes(bytes(data))
    result = admin("show", "T1", "--json")
    assert result.exit_code == 0
    detail = _json(result)
    assert detail["narrative"] == NARRATIVE_ZH
    photo = next(f for f in detail["files"] if f["filename"] == "photo.jpg")
    assert photo["image"] is None
    assert f"the stored copy of envelope {photo['envelope_id']} is damaged" in photo["problem"]
    assert "PROBLEM:" in admin("show", "T1").stdout
