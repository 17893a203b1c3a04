"""The installed `sealdrop-admin` console script, end to end, plus help and docs coverage."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from admin_support import PASSPHRASE, FakeInstance, Source

from admin.cli import main
from crypto.keys import AdminIdentity
from crypto.replies import open_reply, read_reply_bundle, verify_ack

ADMIN = Path(sys.executable).parent / "sealdrop-admin"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "admin.md"


def _run(env: dict[str, str], *args: str, check_code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(ADMIN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == check_code, (args, done.stdout, done.stderr)
    return done


@pytest.mark.slow
@pytest.mark.usefixtures("admin_kdf")
def test_the_console_script_walks_the_whole_workflow(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    env = {
        **os.environ,
        "SEALDROP_VAULT": str(vault),
        "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE,
        "COLUMNS": "200",
    }
    init = _run(env, "init")
    identity = AdminIdentity.from_text((vault / "admin-identity.pub").read_text())
    assert f"Fingerprint:    {identity.fingerprint}" in init.stdout

    instance = FakeInstance(identity)
    source = Source()
    envelopes = instance.submit(
        source,
        "他们把我父亲带走了。",
        answers={"where": "喀什"},
        files=[("a.txt", "text/plain", b"doc")],
    )
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    ack = tmp_path / "ack.sda"
    imported = _run(env, "import", str(bundle), "--ack-out", str(ack), "--silent")
    assert "Imported 2 envelope(s) into tip(s) T1." in imported.stdout
    assert sorted(
        verify_ack(ack.read_bytes(), identity.signer, instance.instance_id).envelope_ids
    ) == sorted(e.envelope_id for e in envelopes)
    again = _run(env, "import", str(bundle), "--silent")
    assert "Nothing new" in again.stdout

    inbox = json.loads(_run(env, "inbox", "--json").stdout)
    assert inbox["tips"][0]["first_words"] == "他们把我父亲带走了。"
    shown = _run(env, "show", "T1")
    assert "他们把我父亲带走了。" in shown.stdout
    assert "喀什" in shown.stdout

    assert _run(env, "case", "new", "Father detained").stdout == "Opened case C1: Father detained\n"
    assert _run(env, "case", "add", "C1", "T1").stdout == "T1 added to case C1.\n"
    assert _run(env, "case", "status", "C1", "verifying").stdout == "Case C1 is now verifying.\n"
    assert "graded A2" in _run(env, "case", "grade", "C1", "A2").stdout

    _run(env, "reply", source.source_id[:8], "--message", "We read your message.")
    replies_file = tmp_path / "replies.sdr"
    _run(env, "export-replies", "--out", str(replies_file))
    with open(replies_file, "rb") as src:
        replies = read_reply_bundle(src, identity.signer, instance.instance_id)
    assert open_reply(replies[0].sealed, source.reply_key) == "We read your message."

    out = tmp_path / "evidence"
    _run(env, "case", "export", "C1", "--out", str(out), "--silent")
    assert (out / "originals" / "T1" / "F1" / "a.txt").read_bytes() == b"doc"
    assert _run(env, "verify-log").stdout.startswith("Custody log intact:")

    wrong = _run({**env, "SEALDROP_ADMIN_PASSPHRASE": "nope nope"}, "inbox", check_code=1)
    assert wrong.stderr.startswith("Error: wrong passphrase")


def test_console_script_version_help_and_usage_errors() -> None:
    version = _run(dict(os.environ), "--version")
    assert re.match(r"sealdrop-admin, version \d+\.\d+", version.stdout)
    assert "Example:" in _run(dict(os.environ), "-h").stdout
    usage = _run(dict(os.environ), "no-such-command", check_code=2)
    assert "No such command" in usage.stderr


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


COMMANDS = _commands(main)


def test_the_command_list_is_complete() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {
        "init",
        "import",
        "inbox",
        "show",
        "open",
        "search",
        "reply",
        "export-replies",
        "add-recipient",
        "verify-log",
        "log",
        "upgrade",
        "workspace",  # issue 15
        "case",
        *(
            f"case {c}"
            for c in (
                "new",
                "list",
                "show",
                "add",
                "remove",
                "status",
                "grade",
                "note",
                "tag",
                "export",
            )
        ),
    }
    assert names == expected


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example_and_is_documented(
    path: tuple[str, ...], command: click.Command
) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*path, "-h"])
    assert result.exit_code == 0
    assert command.help
    assert "Example:" in result.output
    assert f"sealdrop-admin {' '.join(path)}" in result.output.split("Example:")[1]
    docs = DOCS.read_text(encoding="utf-8")
    assert f"### `sealdrop-admin {' '.join(path)}`" in docs, (
        f"docs/admin.md lacks a section for {path}"
    )
