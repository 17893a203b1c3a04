"""The hostile-bundle corpus: bundles a compromised server crafts with the real instance
key and the public admin identity (tests/hostile_bundles.py), and exactly what import
makes of each."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from admin_support import AdminRunner, Source, make_vault, tree_digest
from hostile_bundles import HostileServer

from crypto.bundle import MAGIC
from crypto.kdf import Argon2Cost
from crypto.replies import verify_ack

HOSTILE_DAY = "\x1b]0;pwned\x07\x1b]8;;https://attacker.example\x1b\\x\x1b]8;;\x1b\\[bold red]"
GENUINE = b"They took my brother to the camp in Kashgar on Tuesday."


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    return make_vault(tmp_path)


@pytest.fixture
def server(admin: AdminRunner) -> HostileServer:
    return HostileServer(admin.identity())


def _import(admin: AdminRunner, bundle: Path, ack: Path | None = None) -> tuple[int, dict]:
    args = ["import", str(bundle), "--json"]
    if ack is not None:
        args += ["--ack-out", str(ack)]
    result = admin(*args)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def _acked(admin: AdminRunner, server: HostileServer, ack: Path) -> list[str]:
    return list(
        verify_ack(ack.read_bytes(), admin.identity().signer, server.instance_id).envelope_ids
    )


def _narratives(admin: AdminRunner) -> list[str]:
    tips = json.loads(admin("inbox", "--all", "--json").stdout)["tips"]
    return [json.loads(admin("show", str(t["tip"]), "--json").stdout)["narrative"] for t in tips]


SWAPPED = (
    "its SHA-256 is not the one the signed manifest lists: the envelope was swapped or damaged"
)


def test_swapped_same_size_forgery_is_skipped_reported_and_not_acked(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    genuine = server.envelope(source, "message", GENUINE)
    photo = server.envelope(source, "file", b"\xff\xd8 photo", filename="p.jpg")
    forged = server.same_size_forgery(genuine, source, b"I made it all up. Close the case.")
    assert len(forged.data) == len(genuine.data)
    assert forged.data != genuine.data
    bundle = server.write(
        tmp_path / "b.sdb",
        server.body([genuine, photo]),  # the manifest the server signed for the real tip
        [(genuine.envelope_id, forged.data), (photo.envelope_id, photo.data)],
    )
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, bundle, ack)
    assert code == 3
    assert out["skipped"] == [{"envelope_id": genuine.envelope_id, "reason": SWAPPED}]
    assert out["imported"] == [photo.envelope_id]
    assert _acked(admin, server, ack) == [photo.envelope_id]
    assert _narratives(admin) == [None]  # the forged text is nowhere in the vault
    assert list((admin.vault / "content" / "tmp").glob("*")) == []
    assert not (admin.vault / "content" / f"{genuine.envelope_id}.sdv").exists()
    log = json.loads(admin("log", "--json").stdout)["entries"]
    assert [e["details"]["reason"] for e in log if e["action"] == "import-skipped"] == [SWAPPED]


def test_envelope_from_another_bundle_is_ignored_and_its_slot_skipped(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    first, second = server.envelope(source, "message", GENUINE), server.envelope(source, "file")
    foreign = server.envelope(Source(), "message", b"from another export")
    bundle = server.write(
        tmp_path / "b.sdb",
        server.body([first, second]),
        [(first.envelope_id, first.data), (foreign.envelope_id, foreign.data)],
    )
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, bundle, ack)
    assert code == 3
    assert out["imported"] == [first.envelope_id]
    assert out["ignored"] == [
        {"envelope_id": foreign.envelope_id, "reason": "it is not listed in the manifest"}
    ]
    assert out["skipped"] == [
        {
            "envelope_id": second.envelope_id,
            "reason": "the bundle ends before it (the bundle is truncated)",
        }
    ]
    assert _acked(admin, server, ack) == [first.envelope_id]


def test_envelope_from_another_bundle_under_a_listed_id_fails_its_hash(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    genuine = server.envelope(source, "message", GENUINE)
    other = server.envelope(source, "message", GENUINE)  # same source, same text, resealed
    bundle = server.write(
        tmp_path / "b.sdb", server.body([genuine]), [(genuine.envelope_id, other.data)]
    )
    code, out = _import(admin, bundle, tmp_path / "ack.sda")
    assert code == 3
    assert out["skipped"] == [{"envelope_id": genuine.envelope_id, "reason": SWAPPED}]
    assert not (tmp_path / "ack.sda").exists()  # nothing of this bundle is in the vault


def test_reordered_envelopes_skip_the_one_out_of_place(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    a, b = server.envelope(source, "message", GENUINE), server.envelope(source, "file")
    bundle = server.write(
        tmp_path / "b.sdb", server.body([a, b]), [(b.envelope_id, b.data), (a.envelope_id, a.data)]
    )
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, bundle, ack)
    assert code == 3
    assert out["imported"] == [b.envelope_id]
    assert out["skipped"] == [
        {
            "envelope_id": a.envelope_id,
            "reason": "it is not in the bundle where the manifest lists it",
        }
    ]
    assert out["ignored"] == [
        {
            "envelope_id": a.envelope_id,
            "reason": "it arrived out of the manifest's order, or a second time",
        }
    ]
    assert _acked(admin, server, ack) == [b.envelope_id]


def test_duplicated_envelope_is_imported_once_and_the_copy_reported(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    a = server.envelope(source, "message", GENUINE)
    bundle = server.write(
        tmp_path / "b.sdb", server.body([a]), [(a.envelope_id, a.data), (a.envelope_id, a.data)]
    )
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, bundle, ack)
    assert code == 3
    assert out["imported"] == [a.envelope_id]
    assert out["skipped"] == []
    assert [i["envelope_id"] for i in out["ignored"]] == [a.envelope_id]
    assert _acked(admin, server, ack) == [a.envelope_id]
    assert _narratives(admin) == [GENUINE.decode()]


def test_truncated_bundle_imports_the_envelopes_before_the_cut(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    source = Source()
    a, b, c = (server.envelope(source, "file", bytes([i]) * 100_000) for i in range(3))
    whole = server.honest(tmp_path / "whole.sdb", [a, b, c]).read_bytes()
    cut = tmp_path / "cut.sdb"
    cut.write_bytes(whole[: len(whole) - len(c.data) - 24 - 50_000])  # inside b
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, cut, ack)
    assert code == 3
    assert out["truncated"] is True
    assert out["imported"] == [a.envelope_id]
    assert [s["envelope_id"] for s in out["skipped"]] == [b.envelope_id, c.envelope_id]
    assert _acked(admin, server, ack) == [a.envelope_id]
    # The whole bundle, copied again, brings the rest.
    code, out = _import(admin, server.honest(tmp_path / "again.sdb", [a, b, c]))
    assert (code, out["imported"], out["already_imported"]) == (
        0,
        [b.envelope_id, c.envelope_id],
        [a.envelope_id],
    )


def test_hostile_created_day_is_refused_and_nothing_reaches_the_vault(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    # The v1 finding: `created` was only type-checked and became the tip's day when the
    # sealed `received` was missing; inbox then printed OSC/ESC sequences and Rich markup.
    tip = server.envelope(Source(), "message", GENUINE, drop=("received",))
    bundle = server.honest(tmp_path / "b.sdb", [tip], created=HOSTILE_DAY)
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "the manifest's created day must be a day written YYYY-MM-DD" in result.output
    assert "\x1b" not in result.output
    assert "[bold" not in result.output
    assert tree_digest(admin.vault) == before


def test_missing_received_day_takes_the_checked_bundle_day_and_is_flagged(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    tip = server.envelope(Source(), "message", GENUINE, drop=("received",))
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [tip], created="2024-05-03"))
    assert code == 0
    assert out["flagged"] == [
        {"envelope_id": tip.envelope_id, "flags": ["no day received: the bundle's day is used"]}
    ]
    assert json.loads(admin("inbox", "--json").stdout)["tips"][0]["received"] == "2024-05-03"
    again = server.envelope(Source(), "message", GENUINE, drop=("received",))
    text = admin("import", str(server.honest(tmp_path / "c.sdb", [again])))
    assert text.exit_code == 0
    assert (
        f"FLAGGED envelope {again.envelope_id}: no day received: the bundle's day is used"
        in text.stdout
    )


@pytest.mark.parametrize("received", [HOSTILE_DAY, "2024-02-30", "2024-5-1", 20240501, None])
def test_hostile_received_day_is_replaced_and_flagged(
    admin: AdminRunner, server: HostileServer, tmp_path: Path, received: object
) -> None:
    tip = server.envelope(Source(), "message", GENUINE, received=received)
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [tip]))
    assert code == 0
    assert out["flagged"][0]["flags"] == [
        "its day received is not a YYYY-MM-DD date: the bundle's day is used"
    ]
    inbox = admin("inbox")
    assert "\x1b" not in inbox.output
    assert "pwned" not in inbox.output
    assert json.loads(admin("inbox", "--json").stdout)["tips"][0]["received"] == "2024-05-02"


BAD_TYPE = "its content type is not a type/subtype name: application/octet-stream is used"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html\x1b[31m",
        "[bold]image[/bold]/png",
        "image/jpeg; charset=x",
        "IMAGE/JPEG",
        "a/b/c",
        "text/",
        "x" * 200 + "/y",
        "",
        5,
        None,
        ["image/png"],
    ],
)
def test_bad_content_types_are_replaced_and_flagged(
    admin: AdminRunner, server: HostileServer, tmp_path: Path, content_type: object
) -> None:
    file = server.envelope(Source(), "file", b"data", filename="f.bin", content_type=content_type)
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [file]))
    assert code == 0
    assert out["flagged"] == [{"envelope_id": file.envelope_id, "flags": [BAD_TYPE]}]
    shown = json.loads(admin("show", "T1", "--json").stdout)
    assert shown["files"][0]["content_type"] == "application/octet-stream"


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/vnd.ms-excel", "text/x-c++"])
def test_good_content_types_pass(
    admin: AdminRunner, server: HostileServer, tmp_path: Path, content_type: str
) -> None:
    file = server.envelope(Source(), "file", b"data", filename="f", content_type=content_type)
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [file]))
    assert (code, out["flagged"]) == (0, [])
    assert json.loads(admin("show", "T1", "--json").stdout)["files"][0]["content_type"] == (
        content_type
    )


BAD_NAME = (
    "its file name was empty, too long or held control characters: "
    "a name was made from the envelope id"
)
PATH_NAME = "its file name held a path: only its last part is kept"


@pytest.mark.parametrize(
    ("filename", "flags", "kept"),
    [
        ("证" * 256, [BAD_NAME], None),
        ("a\x1b]0;x\x07.jpg", [BAD_NAME], None),
        ("a\x9b1m.jpg", [BAD_NAME], None),
        ("..", [BAD_NAME], None),
        ("", ["no file name: a name was made from the envelope id"], None),
        ("../../etc/passwd", [PATH_NAME], "passwd"),
        ("C:\\Users\\x\\photo.jpg", [PATH_NAME], "photo.jpg"),
        ("dir/", [PATH_NAME, BAD_NAME], None),
    ],
)
def test_bad_file_names_are_replaced_and_flagged(
    admin: AdminRunner,
    server: HostileServer,
    tmp_path: Path,
    filename: str,
    flags: list[str],
    kept: str | None,
) -> None:
    file = server.envelope(Source(), "file", b"data", filename=filename, content_type="text/plain")
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [file]))
    assert code == 0
    assert out["flagged"][0]["flags"] == flags
    shown = json.loads(admin("show", "T1", "--json").stdout)
    assert shown["files"][0]["filename"] == (kept or f"{file.envelope_id}.bin")


def test_a_255_character_chinese_name_is_kept(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    name = "证" * 251 + ".jpg"
    file = server.envelope(Source(), "file", b"data", filename=name, content_type="image/jpeg")
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [file]))
    assert (code, out["flagged"]) == (0, [])
    assert json.loads(admin("show", "T1", "--json").stdout)["files"][0]["filename"] == name


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"answers": {"where": "x" * 100_001}}, "an answer is longer than 100000 characters"),
        ({"answers": {"where": ["x"] * 101}}, "an answer lists too many or too long choices"),
        ({"answers": {"Where\x1b": "x"}}, "names a question id that is not valid"),
        ({"answers": {f"q{i}": "x" for i in range(201)}}, "more than 200 questionnaire answers"),
        ({"answers": {"where": {"nested": 1}}}, "an answer is neither text nor a list of texts"),
        ({"answers": ["x"]}, "its questionnaire answers are malformed"),
        ({"kind": "\x1b[2Jreport"}, "its kind is neither message nor file"),
        ({"source_id": "ab" * 32}, "its sealed source id does not match the bundle manifest"),
    ],
    ids=[
        "long-answer",
        "many-choices",
        "bad-question-id",
        "many-answers",
        "nested-answer",
        "answers-not-object",
        "bad-kind",
        "other-source",
    ],
)
def test_malformed_or_over_long_fields_skip_the_envelope(
    admin: AdminRunner, server: HostileServer, tmp_path: Path, fields: dict, reason: str
) -> None:
    source = Source()
    fields = dict(fields)
    bad = server.envelope(source, fields.pop("kind", "message"), GENUINE, **fields)
    good = server.envelope(source, "file", b"ok", filename="ok.txt", content_type="text/plain")
    ack = tmp_path / "ack.sda"
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [bad, good]), ack)
    assert code == 3
    assert [s["envelope_id"] for s in out["skipped"]] == [bad.envelope_id]
    assert reason in out["skipped"][0]["reason"]
    assert "\x1b" not in out["skipped"][0]["reason"]
    assert _acked(admin, server, ack) == [good.envelope_id]


def test_descriptive_fields_that_fail_are_flagged_not_trusted(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    tip = server.envelope(
        Source(),
        "message",
        GENUINE,
        language="zh\x1b[31m" * 10,
        submission_id="[bold]not-hex[/bold]",
        extra_field="ignored",
    )
    code, out = _import(admin, server.honest(tmp_path / "b.sdb", [tip]))
    assert code == 0
    assert out["flagged"][0]["flags"] == [
        "1 unknown metadata field(s) ignored",
        "no valid submission id: the envelope is a tip of its own",
        "its language is not a language tag: left out",
    ]
    shown = json.loads(admin("show", "T1", "--json").stdout)
    assert shown["language"] is None


def test_a_version_1_bundle_is_refused_with_what_to_do(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    bundle = server.honest(tmp_path / "b.sdb", [server.envelope(Source(), "message", GENUINE)])
    bundle.write_bytes(b"sealdrop-bundle/v1\n" + bundle.read_bytes()[len(MAGIC) :])
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "this is a version 1 bundle" in result.output
    assert "upgrade the server and export the envelopes again" in result.output
    assert tree_digest(admin.vault) == before


def test_a_flood_manifest_is_refused_before_it_is_parsed(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    # 500,000 listed junk envelopes: the manifest alone is over the 40 MiB limit, which
    # the reader checks from the length field before reading a byte of it.
    entry = '{"id":"%032x","sha256":"' + "0" * 64 + '","size":0,"source_id":"' + "1" * 64 + '"}'
    length = 500_000 * (len(entry % 0) + 1)
    bundle = tmp_path / "flood.sdb"
    bundle.write_bytes(MAGIC + struct.pack(">I", length))
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "larger than 40 MiB (a bundle carries at most 100000 envelopes)" in result.output


def _reply_opens_with(
    admin: AdminRunner, server: HostileServer, tmp_path: Path, source: Source, name: str
) -> bool:
    """Reply to the source, export it, and say whether its own reply key opens it."""
    import io

    from nacl.exceptions import CryptoError as NaclError

    from crypto.errors import PayloadError
    from crypto.replies import open_reply, read_reply_bundle

    assert admin("reply", source.source_id, "--message", "received").exit_code == 0
    out = tmp_path / name
    assert admin("export-replies", "--out", str(out)).exit_code == 0
    (reply,) = read_reply_bundle(
        io.BytesIO(out.read_bytes()), admin.identity().signer, server.instance_id
    )
    try:
        return open_reply(reply.sealed, source.reply_key) == "received"
    except (PayloadError, NaclError):
        return False


def test_the_reply_key_comes_from_the_manifest_and_the_first_one_stays(
    admin: AdminRunner, server: HostileServer, tmp_path: Path
) -> None:
    from nacl.public import PrivateKey

    from crypto.encoding import b64encode

    source = Source()
    attacker = b64encode(bytes(PrivateKey.generate().public_key))
    # The sealed metadata names another reply key than the signed manifest: ignored.
    tip = server.envelope(source, "message", GENUINE, reply_public_key=attacker)
    assert _import(admin, server.honest(tmp_path / "1.sdb", [tip]))[0] == 0
    assert _reply_opens_with(admin, server, tmp_path, source, "r1.sdr")
    # A later manifest that lists another key for the same source changes nothing.
    later = server.envelope(source, "message", b"second tip")
    server.sources[source.source_id] = PrivateKey.generate().public_key
    assert _import(admin, server.honest(tmp_path / "2.sdb", [later]))[0] == 0
    assert _reply_opens_with(admin, server, tmp_path, source, "r2.sdr")
