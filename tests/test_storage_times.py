"""A seized server shows no exact submission time in storage/*.sealed: access and
modification times are the day (midnight UTC), and the hourly pass of `sealdrop serve`
rewrites each new envelope into a new file, so its change and birth times are those of the
pass, not of the tip (docs/threat-model.md, "Submission times on disk")."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from intake_support import submit
from serve_process import ServeProcess
from sqlalchemy import delete

from intake.db import make_engine
from intake.models import Envelope
from intake.storage import DAY_SECONDS, EnvelopeStore, day_start
from intake.time_blur import TimeBlur


def _birth(path: Path) -> float:
    """The file's birth time (statx, through coreutils' stat); 0 if none is kept."""
    done = subprocess.run(["stat", "-c", "%.9W", str(path)], capture_output=True, text=True)
    return float(done.stdout)


@pytest.fixture
def blur(app: Any) -> Iterator[TimeBlur]:
    """The pass `sealdrop serve` runs hourly, on the app's instance."""
    config = app.extensions["sealdrop"].config
    engine = make_engine(config.database_url)
    try:
        yield TimeBlur(EnvelopeStore(config.storage_dir, host=config.storage.host), engine)
    finally:
        engine.dispose()


def _sealed(blur: TimeBlur) -> list[Path]:
    return sorted(blur.store.root.glob("*.sealed"))


def _snapshot(path: Path) -> tuple[int, float, float, bytes]:
    info = os.stat(path)
    return info.st_ino, info.st_ctime, _birth(path), path.read_bytes()


def test_a_submission_leaves_only_the_day_in_atime_and_mtime(client: Any, blur: TimeBlur) -> None:
    submit(client)
    files = _sealed(blur)
    assert files
    midnight_ns = day_start() * 1_000_000_000
    for path in files:
        info = os.stat(path)
        assert info.st_mtime_ns == midnight_ns, path
        assert info.st_atime_ns == midnight_ns, path
        assert info.st_mtime_ns % (DAY_SECONDS * 1_000_000_000) == 0


def test_the_pass_replaces_change_and_birth_times_with_its_own(client: Any, blur: TimeBlur) -> None:
    submit(client)
    before = {path: _snapshot(path) for path in _sealed(blur)}
    time.sleep(1.1)  # a submission second the pass must not keep
    started = time.time()
    assert blur.run_pass() == len(before)
    for path, (inode, ctime, birth, data) in before.items():
        now_inode, now_ctime, now_birth, now_data = _snapshot(path)
        assert now_data == data  # the same sealed bytes
        assert now_inode != inode  # a new file: a new birth time
        assert ctime < started - 1
        assert now_ctime >= started - 0.05
        if birth:  # the filesystem keeps birth times (ext4, xfs, btrfs)
            assert birth < started - 1
            assert now_birth >= started - 0.05
        assert os.stat(path).st_mtime_ns == day_start() * 1_000_000_000
    assert not list(blur.store.tmp_dir.iterdir())  # no partial copy left
    # Nothing new since: the next pass, even of another process, rewrites nothing.
    assert blur.run_pass() == 0
    assert TimeBlur(blur.store, blur.engine).run_pass() == 0
    # A tip sent after a pass is rewritten by the next one.
    submit(client)
    assert blur.run_pass() == len(_sealed(blur)) - len(before)


def test_the_pass_never_touches_an_envelope_not_recorded(client: Any, blur: TimeBlur) -> None:
    submit(client)
    (path, *_) = _sealed(blur)
    envelope_id = path.name.removesuffix(".sealed")
    inode = os.stat(path).st_ino
    # Its writer still holds it (being recorded): left alone.
    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert not blur.store.rebirth(envelope_id, lambda _: True)
    assert os.stat(path).st_ino == inode
    # No row names it (an ack applied meanwhile, or a crash's leftover): left alone.
    with blur.engine.begin() as connection:
        connection.execute(delete(Envelope).where(Envelope.id == envelope_id))
    assert not blur.store.rebirth(envelope_id, blur._recorded)
    assert os.stat(path).st_ino == inode


def test_an_ack_applied_during_the_copy_does_not_bring_the_file_back(
    client: Any, blur: TimeBlur
) -> None:
    submit(client)
    (path, *_) = _sealed(blur)
    envelope_id = path.name.removesuffix(".sealed")
    answers = iter([True, False])  # recorded when the copy starts, gone when it ends
    assert blur.store.rebirth(envelope_id, lambda _: next(answers))
    assert not path.exists()


def test_sealdrop_serve_runs_the_pass_when_it_starts(
    client: Any, blur: TimeBlur, instance: Path, tmp_path: Path
) -> None:
    submit(client)
    inodes = {path: os.stat(path).st_ino for path in _sealed(blur)}
    server = ServeProcess(tmp_path, ["--instance", str(instance), "--no-tor"])
    try:
        server.wait_ready()
        deadline = time.monotonic() + 30
        while not (blur.store.tmp_dir.parent / ".time-blur").is_dir():
            assert time.monotonic() < deadline, server.output
            time.sleep(0.1)
    finally:
        assert server.stop() == 0
    assert all(os.stat(path).st_ino != inode for path, inode in inodes.items())
