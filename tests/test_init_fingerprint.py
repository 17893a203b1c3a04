"""`sealdrop init` prints the instance key fingerprint in the digit groups the first
`sealdrop-admin import` shows (the end-to-end check is in tests/test_demo_next_steps.py)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from nacl.signing import SigningKey

from admin.importer import instance_fingerprint
from crypto.encoding import b64decode
from intake.cli import main
from intake.config import load_config


def test_init_prints_the_fingerprint_the_first_import_shows(tmp_path: Path, admin_keys) -> None:  # type: ignore[no-untyped-def]
    identity = tmp_path / "admin-identity.pub"
    identity.write_text(admin_keys.identity.to_text())
    instance = tmp_path / "instance"
    args = ["init", "--instance", str(instance), "--admin-identity", str(identity)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    printed = re.search(r"Instance key fingerprint: (.+)", result.output).group(1)  # type: ignore[union-attr]
    key_file = load_config(instance).instance_key_path.read_text(encoding="ascii")
    verify_key = SigningKey(b64decode(key_file.strip(), 32)).verify_key
    # What admin/importer.py shows for a manifest signed by this instance.
    assert printed == instance_fingerprint(verify_key)
    assert re.fullmatch(r"\d{4}( \d{4}){5}", printed)
