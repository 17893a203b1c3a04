"""load_config: defaults, overrides, and clear errors for a malformed config.toml."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from intake.config import ConfigError, load_config


def test_the_environment_overrides_the_database_url(instance: Path, monkeypatch):
    monkeypatch.setenv("SEALDROP_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/x")
    assert load_config(instance).database_url == "postgresql+psycopg://u@127.0.0.1/x"


def test_defaults_fit_video_over_tor(instance: Path, monkeypatch):
    monkeypatch.delenv("SEALDROP_DATABASE_URL", raising=False)
    config = load_config(instance)
    assert config.limits.max_submission_bytes >= 2 * 1024**3
    assert config.csrf_time_limit_seconds >= 3600
    assert config.storage_tmp_dir == instance.resolve() / "storage" / "tmp" / socket.gethostname()


def test_a_host_folder_for_shared_storage_is_checked(instance: Path) -> None:
    path = instance / "config.toml"
    text = path.read_text()
    assert "\nhost = ''\n" in text  # spelled out by `sealdrop init`
    path.write_text(text.replace("\nhost = ''\n", "\nhost = 'intake-b'\n"))
    assert load_config(instance).storage_tmp_dir.name == "intake-b"
    path.write_text(text.replace("\nhost = ''\n", "\nhost = '../elsewhere'\n"))
    with pytest.raises(ConfigError, match="host"):
        load_config(instance)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "\n[limits2]\n", None),
        (lambda t: t.replace("max_files = 50", "max_files = 50\nmax_filez = 3"), "max_filez"),
        (lambda t: t.replace("max_files = 50", 'max_files = "many"'), "max_files"),
        (lambda t: t.replace("max_files = 50", "max_files = -1"), "max_files"),
        (lambda t: t.replace("[instance]\nid = ", "[instance]\nid = 1\nold = "), "id"),
        (lambda t: t.replace("opslimit = ", "opslimit = 99999 #"), "receipts"),
        (lambda t: t + "\n= broken", "TOML"),
    ],
)
def test_malformed_settings_are_named(instance: Path, edit, message):
    path = instance / "config.toml"
    path.write_text(edit(path.read_text()))
    if message is None:  # an unknown table is ignored: other components own their tables
        load_config(instance)
        return
    with pytest.raises(ConfigError, match=message):
        load_config(instance)


def test_a_missing_config_says_to_run_init(tmp_path: Path):
    with pytest.raises(ConfigError, match="sealdrop init"):
        load_config(tmp_path)
