"""`sealdrop export / import-replies / apply-ack / purge` on a real instance (SQLite, and
PostgreSQL when SEALDROP_TEST_POSTGRES_URL is set), every bad input refused with nothing
changed."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from intake_support import login, stored, submit
from nacl.signing import SigningKey
from sqlalchemy import select, update
from transfer_support import (
    ack,
    open_bundle,
    reply_bundle,
    reply_statement,
    sealdrop,
    state_of,
)

from intake.config import load_config
from intake.instance import load_instance_signing_key
from intake.models import EXPORTED, PENDING, Envelope, Reply, SourceSession


def _instance_key(instance: Path):  # type: ignore[no-untyped-def]
    return load_instance_signing_key(load_config(instance)).verify_key


def _export(instance: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return sealdrop("export", "--instance", str(instance), "--out", str(out), *extra)


@pytest.fixture
def two_tips(client: FlaskClient) -> list[str]:
    """Two sources: one sends a message and a file, the other a message."""
    return [
        submit(client, narrative="first tip", files=[(b"photo.jpg", b"JPEG bytes")]),
        submit(client, narrative="second tip"),
    ]


def _exported(instance: Path, tmp_path: Path, admin_keys, name: str = "b.sdb"):  # type: ignore[no-untyped-def]
    out = tmp_path / name
    result = _export(instance, out)
    assert result.exit_code == 0, result.output
    return open_bundle(out, admin_keys, _instance_key(instance))


def test_export_carries_every_pending_envelope_marks_them_and_deletes_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips: list[str]
) -> None:
    before = state_of(app)
    assert set(before.envelopes.values()) == {PENDING}
    out = tmp_path / "bundle.sdb"
    result = _export(instance, out)
    assert result.exit_code == 0, result.output
    assert "Exported 3 envelope(s)" in result.output
    assert "from 2 source(s)" in result.output
    bundle = open_bundle(out, admin_keys, _instance_key(instance))
    assert bundle.instance_id == load_config(instance).instance_id
    assert sorted(bundle.envelope_ids) == sorted(before.envelopes)
    assert sorted(c for c in bundle.contents) == sorted(
        [b"first tip", b"JPEG bytes", b"second tip"]
    )
    assert set(bundle.reply_keys) == {m["source_id"] for m in bundle.metadata}
    after = state_of(app)
    assert set(after.envelopes.values()) == {EXPORTED}
    assert after.files == before.files  # nothing deleted
    assert ("operator (command line)", "export") in after.audit
    assert not (tmp_path / "bundle.sdb.tmp").exists()
    assert out.stat().st_mode & 0o777 == 0o600

    again = _export(instance, tmp_path / "again.sdb")
    assert again.exit_code == 0
    assert "No pending envelopes" in again.output
    assert not (tmp_path / "again.sdb").exists()

    resent = _export(instance, tmp_path / "resent.sdb", "--include-exported")
    assert resent.exit_code == 0, resent.output
    assert "Exported 3 envelope(s)" in resent.output
    bundle = open_bundle(tmp_path / "resent.sdb", admin_keys, _instance_key(instance))
    assert sorted(bundle.envelope_ids) == sorted(before.envelopes)


def test_export_only_carries_new_envelopes_the_second_time(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    first = _exported(instance, tmp_path, admin_keys, "one.sdb")
    submit(client, narrative="third tip")
    second = _exported(instance, tmp_path, admin_keys, "two.sdb")
    assert second.contents == [b"third tip"]
    assert not set(first.envelope_ids) & set(second.envelope_ids)


def test_export_never_overwrites_a_file(
    app: Flask, instance: Path, tmp_path: Path, two_tips
) -> None:
    out = tmp_path / "bundle.sdb"
    out.write_bytes(b"precious")
    before = state_of(app)
    result = _export(instance, out)
    assert result.exit_code == 1
    assert "already exists: it is never overwritten" in result.output
    assert out.read_bytes() == b"precious"
    assert state_of(app) == before


def test_export_refuses_a_leftover_partial_file(
    app: Flask, instance: Path, tmp_path: Path, two_tips
) -> None:
    (tmp_path / "bundle.sdb.tmp").write_bytes(b"half")
    before = state_of(app)
    result = _export(instance, tmp_path / "bundle.sdb")
    assert result.exit_code == 1
    assert "an earlier export was interrupted. Delete it and run again." in result.output
    assert state_of(app) == before
    assert not (tmp_path / "bundle.sdb").exists()


def test_export_into_a_missing_folder_is_refused(
    app: Flask, instance: Path, tmp_path: Path, two_tips
) -> None:
    before = state_of(app)
    result = _export(instance, tmp_path / "nope" / "bundle.sdb")
    assert result.exit_code == 1
    assert "does not exist. Choose an existing folder." in result.output
    assert state_of(app) == before


def test_import_replies_stores_them_once(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    instance_id = bundle.instance_id
    messages = [m for m in bundle.metadata if m["kind"] == "message"]
    statements = [
        reply_statement(admin_keys.signing, instance_id, meta, f"answer {n}")
        for n, meta in enumerate(messages)
    ]
    path = tmp_path / "replies.sdr"
    path.write_bytes(reply_bundle(statements))
    result = sealdrop("import-replies", "--instance", str(instance), str(path))
    assert result.exit_code == 0, result.output
    assert "Stored 2 new reply(ies)." in result.output
    assert len(state_of(app).replies) == 2
    again = sealdrop("import-replies", "--instance", str(instance), str(path))
    assert again.exit_code == 0
    assert "Nothing new: all 2 reply(ies) of this bundle were already stored." in again.output
    assert len(state_of(app).replies) == 2


def _refused_replies(app: Flask, instance: Path, tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "replies.sdr"
    path.write_bytes(data)
    before = state_of(app)
    result = sealdrop("import-replies", "--instance", str(instance), str(path))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: reply bundle refused: ")
    assert "Nothing was stored." in result.output
    assert state_of(app) == before
    return result.output


def test_a_reply_bundle_with_one_bad_signature_stores_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    meta = next(m for m in bundle.metadata if m["kind"] == "message")
    good = reply_statement(admin_keys.signing, bundle.instance_id, meta, "good")
    forged = reply_statement(SigningKey.generate(), bundle.instance_id, meta, "forged")
    output = _refused_replies(app, instance, tmp_path, reply_bundle([good, forged]))
    assert "reply 2 of 2: signed by a different key" in output


def test_a_reply_bundle_with_an_altered_reply_stores_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    meta = next(m for m in bundle.metadata if m["kind"] == "message")
    good = reply_statement(admin_keys.signing, bundle.instance_id, meta, "good")
    other = reply_statement(admin_keys.signing, bundle.instance_id, meta, "other")
    altered = other.replace(b'"created":"', b'"created":"1', 1)
    output = _refused_replies(app, instance, tmp_path, reply_bundle([good, altered]))
    assert "reply 2 of 2: signature does not verify" in output


def test_a_reply_to_an_unknown_source_refuses_the_whole_bundle(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    meta = next(m for m in bundle.metadata if m["kind"] == "message")
    good = reply_statement(admin_keys.signing, bundle.instance_id, meta, "good")
    stranger = {**meta, "source_id": "ab" * 32}
    unknown = reply_statement(admin_keys.signing, bundle.instance_id, stranger, "who?")
    output = _refused_replies(app, instance, tmp_path, reply_bundle([good, unknown]))
    assert f"is for source {'ab' * 32}, which this instance does not know" in output


def test_a_reply_bundle_for_another_instance_stores_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    meta = next(m for m in bundle.metadata if m["kind"] == "message")
    elsewhere = reply_statement(admin_keys.signing, "cd" * 16, meta, "hello")
    output = _refused_replies(app, instance, tmp_path, reply_bundle([elsewhere]))
    assert "made for another instance" in output


def test_a_truncated_reply_bundle_stores_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    metas = [m for m in bundle.metadata if m["kind"] == "message"]
    data = reply_bundle(
        [reply_statement(admin_keys.signing, bundle.instance_id, m, "x") for m in metas]
    )
    output = _refused_replies(app, instance, tmp_path, data[:-10])
    assert "truncated at reply 2 of 2" in output


def test_a_file_that_is_not_a_reply_bundle_stores_nothing(
    app: Flask, instance: Path, tmp_path: Path, two_tips
) -> None:
    output = _refused_replies(app, instance, tmp_path, b"hello")
    assert "not a Sealdrop reply bundle" in output


def test_apply_ack_deletes_files_and_rows_and_a_replay_is_harmless(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    path = tmp_path / "ack.sda"
    path.write_bytes(ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids))
    result = sealdrop("apply-ack", "--instance", str(instance), str(path))
    assert result.exit_code == 0, result.output
    assert "Deleted 3 envelope(s); 0 were already gone." in result.output
    after = state_of(app)
    assert after.envelopes == {}
    assert after.files == []
    replay = sealdrop("apply-ack", "--instance", str(instance), str(path))
    assert replay.exit_code == 0
    assert "Deleted 0 envelope(s); 3 were already gone." in replay.output


def test_an_ack_only_deletes_what_it_lists(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    kept = bundle.envelope_ids[0]
    path = tmp_path / "ack.sda"
    path.write_bytes(ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids[1:]))
    assert sealdrop("apply-ack", "--instance", str(instance), str(path)).exit_code == 0
    after = state_of(app)
    assert after.envelopes == {kept: EXPORTED}
    assert after.files == [f"{kept}.sealed"]


def test_an_ack_naming_envelopes_never_exported_keeps_them(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    pending = sorted(state_of(app).envelopes)
    instance_id = load_config(instance).instance_id
    path = tmp_path / "ack.sda"
    path.write_bytes(ack(admin_keys.signing, instance_id, pending))
    before = state_of(app)
    result = sealdrop("apply-ack", "--instance", str(instance), str(path))
    assert result.exit_code == 0, result.output
    assert "Deleted 0 envelope(s)" in result.output
    assert "Kept 3 envelope(s) the ack lists but this server never exported" in result.output
    assert state_of(app).envelopes == before.envelopes
    assert state_of(app).files == before.files


@pytest.mark.parametrize("wrong", ["another key", "another instance", "a reply", "garbage"])
def test_a_bad_ack_deletes_nothing(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips, wrong: str
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    ids = bundle.envelope_ids
    data, message = {
        "another key": (
            ack(SigningKey.generate(), bundle.instance_id, ids),
            "signed by a different key than the one this side trusts",
        ),
        "another instance": (
            ack(admin_keys.signing, "ef" * 16, ids),
            "this ack was made for another instance",
        ),
        "a reply": (
            reply_statement(admin_keys.signing, bundle.instance_id, bundle.metadata[0], "x"),
            "expected a 'ack' statement, got 'reply'",
        ),
        "garbage": (b"\x00not json", "ack refused"),
    }[wrong]
    path = tmp_path / "ack.sda"
    path.write_bytes(data)
    before = state_of(app)
    result = sealdrop("apply-ack", "--instance", str(instance), str(path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ack refused: ")
    assert message in result.output
    assert "Nothing was deleted." in result.output
    assert state_of(app) == before


def test_an_ack_interrupted_between_file_and_row_is_completed_by_running_it_again(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    # What a crash after unlinking the first file, before deleting its row, leaves behind.
    storage = load_config(instance).storage_dir
    (storage / f"{bundle.envelope_ids[0]}.sealed").unlink()
    path = tmp_path / "ack.sda"
    path.write_bytes(ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids))
    result = sealdrop("apply-ack", "--instance", str(instance), str(path))
    assert result.exit_code == 0, result.output
    assert state_of(app).envelopes == {}
    assert state_of(app).files == []


def test_export_leaves_out_an_envelope_whose_file_is_gone(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    ids = sorted(state_of(app).envelopes)
    (load_config(instance).storage_dir / f"{ids[0]}.sealed").unlink()
    out = tmp_path / "b.sdb"
    result = _export(instance, out)
    assert result.exit_code == 0, result.output
    assert f"envelope {ids[0]} has no file in storage" in result.output
    assert sorted(open_bundle(out, admin_keys, _instance_key(instance)).envelope_ids) == ids[1:]
    assert state_of(app).envelopes[ids[0]] == PENDING


@pytest.mark.parametrize(
    ("path", "message"),
    [("missing.sda", "no file"), (".", "is a folder")],
)
def test_apply_ack_with_an_unreadable_file(
    app: Flask, instance: Path, tmp_path: Path, path: str, message: str
) -> None:
    result = sealdrop("apply-ack", "--instance", str(instance), str(tmp_path / path))
    assert result.exit_code in (1, 2)
    assert message in result.output or "Invalid value" in result.output


def _age(app: Flask, days: int) -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=days)


def test_purge_deletes_old_replies_and_sessions_and_keeps_unacked_envelopes(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    bundle = _exported(instance, tmp_path, admin_keys)
    metas = [m for m in bundle.metadata if m["kind"] == "message"]
    path = tmp_path / "replies.sdr"
    path.write_bytes(
        reply_bundle(
            [reply_statement(admin_keys.signing, bundle.instance_id, m, "hi") for m in metas]
        )
    )
    assert sealdrop("import-replies", "--instance", str(instance), str(path)).exit_code == 0
    login(client, two_tips[0])
    sessions = app.extensions["sealdrop"].sessions
    with sessions() as db:
        old_reply = sorted(db.scalars(select(Reply.id)))[0]
        db.execute(update(Reply).where(Reply.id == old_reply).values(created_day=_age(app, 91)))
        db.execute(update(SourceSession).values(created_day=_age(app, 2)))
        db.execute(update(Envelope).values(exported_day=_age(app, 400)))
        db.commit()
    before = state_of(app)
    result = sealdrop("purge", "--instance", str(instance))
    assert result.exit_code == 0, result.output
    assert "Replies deleted: 1 (older than 90 day(s))." in result.output
    assert "Source sessions deleted: 1 (older than 1 day(s))." in result.output
    assert "Kept 3 exported envelope(s) never acked" in result.output
    after = state_of(app)
    assert after.replies == [r for r in before.replies if r != old_reply]
    assert after.envelopes == before.envelopes
    assert after.files == before.files
    assert stored(app).sessions == 0


def test_purge_deletes_unacked_envelopes_only_with_an_explicit_rule(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    _exported(instance, tmp_path, admin_keys)
    submit(client, narrative="still pending")
    sessions = app.extensions["sealdrop"].sessions
    with sessions() as db:
        db.execute(
            update(Envelope).where(Envelope.state == EXPORTED).values(exported_day=_age(app, 31))
        )
        db.execute(
            update(Envelope).where(Envelope.state == PENDING).values(received_day=_age(app, 999))
        )
        db.commit()
    config = instance / "config.toml"
    config.write_text(
        config.read_text().replace("exported_unacked_days = 0", "exported_unacked_days = 30")
    )
    result = sealdrop("purge", "--instance", str(instance))
    assert result.exit_code == 0, result.output
    assert "deleted by rule (older than 30 day(s)): 3." in result.output
    after = state_of(app)
    assert list(after.envelopes.values()) == [PENDING]  # pending envelopes are never purged
    assert len(after.files) == 1


def test_every_transfer_command_prints_stable_json(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips
) -> None:
    import json

    out = tmp_path / "b.sdb"
    exported = json.loads(_export(instance, out, "--json").stdout)
    key = _instance_key(instance)
    bundle = open_bundle(out, admin_keys, key)
    size = sum(p.stat().st_size for p in load_config(instance).storage_dir.glob("*.sealed"))
    assert exported == {
        "out": str(out),
        "envelopes": 3,
        "bytes": size,
        "sources": 2,
        "missing": [],
        "left_for_next": 0,
        "instance_fingerprint": exported["instance_fingerprint"],
    }
    assert re.fullmatch(r"[0-9 ]+", exported["instance_fingerprint"])
    nothing = json.loads(_export(instance, tmp_path / "c.sdb", "--json").stdout)
    assert (nothing["out"], nothing["envelopes"]) == (None, 0)

    metas = [m for m in bundle.metadata if m["kind"] == "message"]
    path = tmp_path / "r.sdr"
    path.write_bytes(
        reply_bundle([reply_statement(admin_keys.signing, bundle.instance_id, metas[0], "hi")])
    )
    result = sealdrop("import-replies", "--instance", str(instance), str(path), "--json")
    assert json.loads(result.stdout) == {"total": 1, "added": 1, "already": 0}

    path = tmp_path / "a.sda"
    path.write_bytes(ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids[:2]))
    result = sealdrop("apply-ack", "--instance", str(instance), str(path), "--json")
    assert json.loads(result.stdout) == {
        "listed": 2,
        "deleted": 2,
        "already_gone": 0,
        "not_exported": [],
    }
    result = sealdrop("purge", "--instance", str(instance), "--json")
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert json.loads(result.stdout) == {
        "replies_deleted": 0,
        "sessions_deleted": 0,
        "envelopes_deleted": 0,
        "exported_kept": {"envelopes": 1, "bytes": state_bytes(instance), "since": today},
    }


def state_bytes(instance: Path) -> int:
    """Bytes of the envelope files still in storage."""
    return sum(p.stat().st_size for p in load_config(instance).storage_dir.glob("*.sealed"))


def test_export_carries_at_most_the_bundle_limit_and_says_how_many_are_left(
    app: Flask, instance: Path, tmp_path: Path, admin_keys, two_tips, monkeypatch
) -> None:
    import intake.transfer.export as export

    monkeypatch.setattr(export, "MAX_ENVELOPES", 2)
    first = _export(instance, tmp_path / "one.sdb")
    assert first.exit_code == 0, first.output
    assert "Exported 2 envelope(s)" in first.output
    assert "1 more envelope(s) did not fit" in first.output
    assert "run export again for the next bundle" in first.output
    second = _export(instance, tmp_path / "two.sdb")
    assert "Exported 1 envelope(s)" in second.output
    assert "did not fit" not in second.output
    ids = open_bundle(tmp_path / "one.sdb", admin_keys, _instance_key(instance)).envelope_ids
    more = open_bundle(tmp_path / "two.sdb", admin_keys, _instance_key(instance)).envelope_ids
    assert len(set(ids) | set(more)) == 3
