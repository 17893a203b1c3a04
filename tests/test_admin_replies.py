"""Replies: sealed to the source's reply key, signed, exported once in a reply bundle."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault, tree_digest

from admin.cli import main
from crypto.kdf import Argon2Cost
from crypto.replies import open_reply, read_reply_bundle

ZH_REPLY = "收到了。请问是哪个月？"  # noqa: RUF001 - Chinese punctuation on purpose


@pytest.fixture
def world(tmp_path: Path, admin_kdf: Argon2Cost) -> tuple[AdminRunner, FakeInstance, Source]:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    envelopes = instance.submit(source, "Please tell me you received this.")
    assert admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    return admin, instance, source


def test_reply_and_export_replies_make_a_bundle_the_source_can_read(
    world: tuple[AdminRunner, FakeInstance, Source], tmp_path: Path
) -> None:
    admin, instance, source = world
    made = admin("reply", source.source_id[:10], "--message", ZH_REPLY)
    assert made.exit_code == 0, made.output
    assert f"to source {source.source_id[:12]} saved." in made.stdout
    made_json = json.loads(admin("reply", source.source_id, "--message", "Second", "--json").stdout)
    assert made_json["source"] == source.source_id

    out = tmp_path / "replies.sdr"
    exported = admin("export-replies", "--out", str(out))
    assert exported.exit_code == 0
    assert exported.stdout.startswith(f"Wrote 2 reply(ies) to {out}.")
    replies = read_reply_bundle(
        io.BytesIO(out.read_bytes()), admin.identity().signer, instance.instance_id
    )
    assert [r.source_id for r in replies] == [source.source_id, source.source_id]
    assert [open_reply(r.sealed, source.reply_key) for r in replies] == [
        ZH_REPLY,
        "Second",
    ]
    assert replies[1].reply_id == made_json["reply"]


def test_replies_are_never_exported_twice(
    world: tuple[AdminRunner, FakeInstance, Source], tmp_path: Path
) -> None:
    admin, instance, source = world
    admin("reply", source.source_id[:8], "--message", "one")
    assert admin("export-replies", "--out", str(tmp_path / "1.sdr")).exit_code == 0
    second = admin("export-replies", "--out", str(tmp_path / "2.sdr"), "--json")
    assert json.loads(second.stdout) == {"out": None, "replies": []}
    assert not (tmp_path / "2.sdr").exists()
    admin("reply", source.source_id[:8], "--message", "two")
    assert admin("export-replies", "--out", str(tmp_path / "3.sdr")).exit_code == 0
    third = read_reply_bundle(
        io.BytesIO((tmp_path / "3.sdr").read_bytes()), admin.identity().signer, instance.instance_id
    )
    assert [open_reply(r.sealed, source.reply_key) for r in third] == ["two"]
    human = admin("export-replies", "--out", str(tmp_path / "4.sdr"))
    assert human.stdout == "No unsent replies: nothing was written.\n"


def test_export_replies_refuses_an_existing_file(
    world: tuple[AdminRunner, FakeInstance, Source], tmp_path: Path
) -> None:
    admin, _instance, source = world
    admin("reply", source.source_id[:8], "--message", "one")
    out = tmp_path / "exists.sdr"
    out.write_text("keep")
    before = tree_digest(admin.vault)
    result = admin("export-replies", "--out", str(out))
    assert result.exit_code == 1
    assert "already exists: it is never overwritten" in result.output
    assert out.read_text() == "keep"
    assert tree_digest(admin.vault) == before


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("abc", "is not a source id. Give at least 6 hex digits"),
        ("zzzzzzzz", "is not a source id"),
        ("0123456789", "no source starts with 0123456789"),
    ],
)
def test_reply_to_an_unknown_source(
    world: tuple[AdminRunner, FakeInstance, Source], source: str, message: str
) -> None:
    admin, _instance, _source = world
    before = tree_digest(admin.vault)
    result = admin("reply", source, "--message", "hi")
    assert result.exit_code == 1
    assert message in result.output
    assert tree_digest(admin.vault) == before


def test_an_empty_reply_is_refused(world: tuple[AdminRunner, FakeInstance, Source]) -> None:
    admin, _instance, source = world
    result = admin("reply", source.source_id[:8], "--message", "   ")
    assert result.exit_code == 1
    assert "the reply is empty: nothing was saved" in result.output


def test_reply_written_in_the_editor(
    world: tuple[AdminRunner, FakeInstance, Source], tmp_path: Path
) -> None:
    admin, instance, source = world
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Thank you.\\n# hint line\\n" > "$1"\n')
    editor.chmod(0o755)
    result = admin.runner.invoke(
        main,
        ["reply", source.source_id[:8], "--actor", "tester"],
        env={**admin.env(), "EDITOR": str(editor)},
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "r.sdr"
    admin("export-replies", "--out", str(out))
    replies = read_reply_bundle(
        io.BytesIO(out.read_bytes()), admin.identity().signer, instance.instance_id
    )
    assert open_reply(replies[0].sealed, source.reply_key) == "Thank you."


def test_replies_are_in_the_custody_log(
    world: tuple[AdminRunner, FakeInstance, Source], tmp_path: Path
) -> None:
    admin, _instance, source = world
    admin("reply", source.source_id[:8], "--message", "one")
    admin("export-replies", "--out", str(tmp_path / "1.sdr"))
    entries = json.loads(admin("log", "--json").stdout)["entries"]
    actions = [(e["action"], e["object"]) for e in entries]
    assert ("reply", f"source:{source.source_id}") in actions
    assert ("export-replies", "replies") in actions


def test_a_manifest_that_lacks_a_sources_reply_key_is_refused(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    # Bundle v2: the reply key comes from the signed manifest only (never from the sealed
    # metadata), and a manifest must list every envelope's source with its key.
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    envelopes = instance.submit(source, "hello")
    instance.sources.clear()  # a manifest that lists no reply keys
    result = admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes)))
    assert result.exit_code == 1
    assert "not exactly the sources of its envelopes" in result.output
