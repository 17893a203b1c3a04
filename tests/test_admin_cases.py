"""Cases: new, list, show, add, remove, status (with history and closing reasons),
Admiralty grading, notes and tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault, tree_digest

from admin.cli import main
from crypto.kdf import Argon2Cost


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    envelopes = instance.submit(Source(), "tip one") + instance.submit(Source(), "tip two")
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    return vault


def _json(result: object) -> dict:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_case_new_add_status_grade_and_show(admin: AdminRunner) -> None:
    new = admin("case", "new", "Detentions in Kashgar, 2024")
    assert new.exit_code == 0
    assert new.stdout == "Opened case C1: Detentions in Kashgar, 2024\n"
    add = admin("case", "add", "C1", "T1", "T2")
    assert add.stdout == "T1 added to case C1.\nT2 added to case C1.\n"
    assert admin("case", "add", "1", "1").stdout == "T1 was already in case C1.\n"
    status = admin("case", "status", "C1", "triaged")
    assert status.stdout == "Case C1 is now triaged.\n"
    assert admin("case", "status", "C1", "verifying").exit_code == 0
    grade = admin("case", "grade", "C1", "b2")
    assert (
        grade.stdout == "Case C1 graded B2: source usually reliable, information probably true.\n"
    )
    assert admin("case", "note", "C1", "--text", "Lawyer confirms the date.").exit_code == 0
    tags = admin("case", "tag", "C1", "--add", "uyghur", "--add", "xinjiang")
    assert tags.stdout == "Case C1 tags: uyghur, xinjiang\n"

    detail = _json(admin("case", "show", "C1", "--json"))
    assert detail["title"] == "Detentions in Kashgar, 2024"
    assert detail["tips"] == [1, 2]
    assert detail["status"] == "verifying"
    assert detail["grade"] == "B2"
    assert (detail["reliability"], detail["credibility"]) == ("B", "2")
    assert [h["status"] for h in detail["status_history"]] == ["new", "triaged", "verifying"]
    assert all(h["actor"] == "tester" for h in detail["status_history"])
    assert [n["text"] for n in detail["notes"]] == ["Lawyer confirms the date."]
    assert detail["tags"] == ["uyghur", "xinjiang"]

    human = admin("case", "show", "C1")
    assert "Case C1: Detentions in Kashgar, 2024" in human.stdout
    assert "Status: verifying" in human.stdout
    assert "Grade: B2 (source usually reliable; information probably true)" in human.stdout
    assert "Tips: T1, T2" in human.stdout


def test_case_list(admin: AdminRunner) -> None:
    assert admin("case", "list").stdout.startswith("No cases yet.")
    admin("case", "new", "First")
    admin("case", "new", "Second")
    admin("case", "add", "C2", "T1")
    cases = _json(admin("case", "list", "--json"))["cases"]
    assert [(c["case"], c["title"], c["status"], c["tips"], c["grade"]) for c in cases] == [
        (2, "Second", "new", 1, None),
        (1, "First", "new", 0, None),
    ]
    assert "Second" in admin("case", "list").stdout
    page = _json(admin("case", "list", "--limit", "1", "--page", "2", "--json"))
    assert [c["case"] for c in page["cases"]] == [1]
    assert (page["total"], page["not_shown"]) == (2, 1)
    human = admin("case", "list", "--limit", "1").stdout
    assert "Page 1: 1 of 2 cases shown (1 not shown)." in human
    assert "Next page: sealdrop-admin case list --limit 1 --page 2" in human


def test_a_tip_may_be_in_several_cases(admin: AdminRunner) -> None:
    admin("case", "new", "A")
    admin("case", "new", "B")
    admin("case", "add", "C1", "T1")
    admin("case", "add", "C2", "T1")
    assert _json(admin("show", "T1", "--json"))["cases"] == [1, 2]


def test_remove_takes_a_tip_out_but_keeps_it(admin: AdminRunner) -> None:
    admin("case", "new", "A")
    admin("case", "add", "C1", "T1", "T2")
    assert admin("case", "remove", "C1", "T2").stdout == "T2 removed from case C1.\n"
    assert _json(admin("case", "show", "C1", "--json"))["tips"] == [1]
    assert _json(admin("show", "T2", "--json"))["tip"] == 2
    again = admin("case", "remove", "C1", "T2")
    assert again.exit_code == 1
    assert "tip T2 is not in case C1: nothing to remove." in again.output


def test_closing_needs_a_reason_and_the_history_keeps_it(admin: AdminRunner) -> None:
    admin("case", "new", "A")
    before = tree_digest(admin.vault)
    refused = admin("case", "status", "C1", "closed")
    assert refused.exit_code == 1
    assert (
        "closing a case needs --reason, one of: "
        "duplicate, out of scope, insufficient, not credible." in refused.output
    )
    assert tree_digest(admin.vault) == before
    closed = admin("case", "status", "C1", "closed", "--reason", "out of scope")
    assert closed.stdout == "Case C1 is now closed (out of scope).\n"
    assert (
        admin("case", "status", "C1", "on-hold").stdout
        == "Case C1 is now on hold - source safety.\n"
    )
    history = _json(admin("case", "show", "C1", "--json"))["status_history"]
    assert [(h["status"], h["reason"]) for h in history] == [
        ("new", None),
        ("closed", "out of scope"),
        ("on hold - source safety", None),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("case", "status", "C1", "finished"),
            "unknown status 'finished'. Use one of: new, triaged",
        ),
        (("case", "status", "C1", "new"), "case C1 is already 'new': nothing changed."),
        (
            ("case", "status", "C1", "triaged", "--reason", "duplicate"),
            "--reason is only for closing",
        ),
        (("case", "grade", "C1", "G7"), "'G7' is not an Admiralty grade. Give a letter A-F"),
        (("case", "grade", "C1", "A0"), "is not an Admiralty grade"),
        (("case", "note", "C1", "--text", "  "), "the note is empty"),
        (("case", "new", " "), "a case needs a title"),
        (("case", "show", "C9"), "there is no case C9. `sealdrop-admin case list` lists cases."),
        (("case", "add", "C9", "T1"), "there is no case C9."),
        (("case", "add", "C1", "T9"), "there is no tip T9."),
        (("case", "grade", "C9", "A1"), "there is no case C9."),
        (("case", "status", "C9", "triaged"), "there is no case C9."),
        (("case", "export", "C9", "--out", "/tmp/never-made-c9"), "there is no case C9."),
        (("case", "show", "case-one"), "is not a case number. Case numbers look like 3 or C3."),
    ],
)
def test_bad_case_input_is_explained_and_changes_nothing(
    admin: AdminRunner, args: tuple[str, ...], message: str
) -> None:
    admin("case", "new", "A")
    before = tree_digest(admin.vault)
    result = admin(*args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert tree_digest(admin.vault) == before


def test_an_unknown_closing_reason_is_a_usage_error(admin: AdminRunner) -> None:
    admin("case", "new", "A")
    result = admin("case", "status", "C1", "closed", "--reason", "bored")
    assert result.exit_code == 2
    assert "'bored' is not one of" in result.output


def test_case_changes_are_in_the_custody_log(admin: AdminRunner) -> None:
    admin("case", "new", "A")
    admin("case", "add", "C1", "T1")
    admin("case", "status", "C1", "triaged")
    admin("case", "grade", "C1", "C3")
    admin("case", "note", "C1", "--text", "n")
    admin("case", "tag", "C1", "--add", "t")
    entries = _json(admin("log", "--json", "--object", "case:1"))["entries"]
    assert [e["action"] for e in entries] == [
        "case-new",
        "case-add",
        "status",
        "grade",
        "note",
        "tag",
    ]
    assert entries[2]["details"] == {"new": "triaged", "old": "new", "reason": None}
    assert entries[3]["details"] == {"grade": "C3"}


def test_note_from_the_editor(admin: AdminRunner, tmp_path: Path) -> None:
    admin("case", "new", "A")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Written in the editor.\\n# dropped\\n" > "$1"\n')
    editor.chmod(0o755)
    result = admin.runner.invoke(
        main,
        ["case", "note", "C1", "--actor", "tester"],
        env={**admin.env(), "EDITOR": str(editor)},
    )
    assert result.exit_code == 0, result.output
    assert [n["text"] for n in _json(admin("case", "show", "C1", "--json"))["notes"]] == [
        "Written in the editor."
    ]
