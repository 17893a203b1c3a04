"""Faults caused for real: `sealdrop export` running out of space (RLIMIT_FSIZE, as on a full
USB stick) leaves no bundle, no partial file, and every envelope still pending."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from intake_support import submit
from transfer_support import state_of

from intake.models import PENDING

REPO = Path(__file__).resolve().parent.parent


def _small_files() -> None:
    """In the child: files may not grow past 64 KiB (Python ignores SIGXFSZ: EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_export_onto_a_full_device_marks_nothing_and_leaves_no_file(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path
) -> None:
    submit(client, narrative="a tip", files=[(b"video.mp4", os.urandom(512 * 1024))])
    before = state_of(app)
    out = tmp_path / "bundle.sdb"
    env = {k: v for k, v in os.environ.items() if k != "SEALDROP_DATABASE_URL"}
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "sealdrop"), "export", "--instance", str(instance),
         "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=120, preexec_fn=_small_files,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Error: cannot write {out}: File too large. Nothing was marked exported." in done.stderr
    assert not out.exists()
    assert not (tmp_path / "bundle.sdb.tmp").exists()
    after = state_of(app)
    assert after == before
    assert set(after.envelopes.values()) == {PENDING}
    # With room again, the same export works.
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "sealdrop"), "export", "--instance", str(instance),
         "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Exported 2 envelope(s)" in done.stdout
