"""`sealdrop init`: what it creates, with which permissions, and what it refuses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.cli import main
from intake.config import load_config
from intake.instance import (
    load_admin_identity,
    load_flask_secret,
    load_instance_signing_key,
    load_peppers,
)
from intake.questionnaire import load_questionnaire


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]
    }


def test_init_creates_the_instance_with_private_permissions(tmp_path: Path, admin_keys) -> None:
    identity = admin_keys.write_identity(tmp_path / "admin-identity.pub")
    target = tmp_path / "inst"
    result = CliRunner().invoke(
        main, ["init", "--instance", str(target), "--admin-identity", str(identity)]
    )
    assert result.exit_code == 0, result.output
    assert admin_keys.identity.fingerprint in result.output
    for name in ("config.toml", "admin-identity.pub", "questionnaire.json", "sealdrop.db"):
        assert (target / name).is_file()
    for name in ("secrets", "storage", "storage/tmp", "tor"):
        assert (target / name).is_dir()
    for path, mode in _modes(target).items():
        expected = 0o700 if (target / path).is_dir() else 0o600
        if path.startswith("sealdrop.db-"):  # SQLite's WAL side files follow the db's mode
            continue
        assert mode == expected, path
    config = load_config(target)
    assert len(bytes.fromhex(config.instance_id)) == 16
    assert load_admin_identity(config) == admin_keys.identity
    assert load_peppers(config).salt_pepper != load_peppers(config).split_pepper
    assert len(load_flask_secret(config)) == 32
    assert bytes(load_instance_signing_key(config).verify_key).hex() != ""
    assert load_questionnaire(config.questionnaire_path).questions


def test_init_refuses_an_existing_instance(tmp_path: Path, admin_keys) -> None:
    identity = admin_keys.write_identity(tmp_path / "id.pub")
    args = ["init", "--instance", str(tmp_path / "inst"), "--admin-identity", str(identity)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = (tmp_path / "inst" / "secrets" / "peppers").read_bytes()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert "Error: " in again.output
    assert "not empty" in again.output
    assert (tmp_path / "inst" / "secrets" / "peppers").read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [b"", b"not an identity\n", b"\xff\xfe\x00garbage", b"sealdrop admin identity v1\nsigner: x\n"],
)
def test_init_refuses_a_malformed_admin_identity(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_bytes(content)
    target = tmp_path / "inst"
    result = CliRunner().invoke(
        main, ["init", "--instance", str(target), "--admin-identity", str(bad)]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert not target.exists()


def test_init_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["init", "-h"])
    assert result.exit_code == 0
    assert "Example:" in result.output
