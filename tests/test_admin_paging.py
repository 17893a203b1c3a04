"""Search and the custody log a page at a time: bounded work per page, nothing skipped
or repeated across pages, short (1-2 character) queries included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault

import admin.tips as tips_module
from crypto.kdf import Argon2Cost

TIPS = 7


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    envelopes = []
    for n in range(1, TIPS + 1):
        # Every tip says 新疆 and 喀什市; odd ones also 疆 in an answer.
        answers = {"where": "疆域"} if n % 2 else {"where": "别处"}
        envelopes += instance.submit(Source(), f"第{n}份, 我在新疆喀什市。", answers=answers)
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    return vault


def _pages(admin: AdminRunner, query: str, limit: int) -> list[list[int]]:
    pages: list[list[int]] = []
    before: list[str] = []
    for _ in range(50):
        found = json.loads(admin("search", query, "--limit", str(limit), *before, "--json").stdout)
        pages.append([h["tip"] for h in found["hits"]])
        if found["next_before"] is None:
            return pages
        before = ["--before", str(found["next_before"])]
    raise AssertionError("search pages never ended")


@pytest.mark.parametrize("query", ["喀什市", "新疆", "疆"])
def test_search_pages_cover_every_hit_once_newest_first(
    admin: AdminRunner, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window of 3 text rows per page for short queries, so they take several pages.
    monkeypatch.setattr(tips_module, "SHORT_QUERY_WINDOW", 3)
    pages = _pages(admin, query, 2)
    found = [tip for page in pages for tip in page]
    assert found == list(range(TIPS, 0, -1))
    assert all(len(page) <= 2 for page in pages)
    assert len(pages) >= 4


def test_a_short_query_reads_only_its_window(
    admin: AdminRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tips_module, "SHORT_QUERY_WINDOW", 4)  # the two newest tips' rows
    found = json.loads(admin("search", "疆域", "--json").stdout)
    assert [h["tip"] for h in found["hits"]] == [7]
    assert found["short_query_window"] == 4
    assert found["next_before"] is not None
    human = admin("search", "疆域").stdout
    assert "There may be more. Next page: sealdrop-admin search '疆域' --before" in human


def test_log_pages_from_the_newest_in_log_order(admin: AdminRunner) -> None:
    whole = json.loads(admin("log", "--limit", "1000", "--json").stdout)
    seqs = [e["seq"] for e in whole["entries"]]
    assert seqs == list(range(1, whole["total"] + 1))
    first = json.loads(admin("log", "--limit", "3", "--json").stdout)
    assert [e["seq"] for e in first["entries"]] == seqs[-3:]
    assert first["not_shown"] == whole["total"] - 3
    second = json.loads(admin("log", "--limit", "3", "--page", "2", "--json").stdout)
    assert [e["seq"] for e in second["entries"]] == seqs[-6:-3]
    about = json.loads(admin("log", "--object", "tip:2", "--json").stdout)
    assert [e["object"] for e in about["entries"]] == ["tip:2"]
    assert about["total"] == 1
    human = admin("log", "--limit", "3").stdout
    assert "Next page: sealdrop-admin log --limit 3 --page 2" in human
