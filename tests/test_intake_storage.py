"""EnvelopeStore: atomic writes, refusal of odd names and symlinks, crash leftovers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from intake.storage import EnvelopeStore, StorageError


@pytest.fixture
def store(tmp_path: Path) -> EnvelopeStore:
    (tmp_path / "storage" / "tmp").mkdir(parents=True)
    return EnvelopeStore(tmp_path / "storage")


def test_an_envelope_is_only_visible_after_commit(store: EnvelopeStore) -> None:
    pending = store.begin()
    pending.write(b"sealed bytes")
    assert list(store.ids()) == []
    assert pending.tmp_path.parent == store.tmp_dir
    size = pending.commit()
    pending.release()
    assert size == len(b"sealed bytes")
    assert list(store.ids()) == [pending.envelope_id]
    assert list(store.tmp_dir.iterdir()) == []
    with store.open(pending.envelope_id) as handle:
        assert handle.read() == b"sealed bytes"
    assert store.delete(pending.envelope_id)
    assert not store.delete(pending.envelope_id)


def test_discard_removes_the_partial_file(store: EnvelopeStore) -> None:
    pending = store.begin()
    pending.write(b"x" * 100)
    pending.discard()
    assert list(store.tmp_dir.iterdir()) == []


@pytest.mark.parametrize("bad", ["../x", "", "ABCDEF" * 6, "0" * 31, "0" * 32 + "/..", "0" * 33])
def test_unexpected_names_are_refused(store: EnvelopeStore, bad: str) -> None:
    with pytest.raises(StorageError):
        store.open(bad)
    with pytest.raises(StorageError):
        store.delete(bad)


def test_symlinks_are_refused(store: EnvelopeStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"secret")
    envelope_id = "ab" * 16
    os.symlink(outside, store.path(envelope_id))
    with pytest.raises(StorageError):
        store.open(envelope_id)
    with pytest.raises(StorageError):
        store.delete(envelope_id)
    assert outside.read_bytes() == b"secret"


def test_a_symlinked_storage_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real" / "tmp").mkdir(parents=True)
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(StorageError):
        EnvelopeStore(tmp_path / "link")
    assert list((tmp_path / "real" / "tmp").iterdir()) == []  # nothing made through it


@pytest.mark.parametrize("link", ["tmp", "tmp/host-a"])
def test_a_symlinked_tmp_or_host_folder_is_refused(tmp_path: Path, link: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "storage"
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, root / link)
    with pytest.raises(StorageError):
        EnvelopeStore(root, host="host-a").begin()
    assert list(elsewhere.iterdir()) == []


def test_cleanup_removes_crash_leftovers(store: EnvelopeStore) -> None:
    crashed = store.begin()
    crashed.write(b"partial")
    crashed.file.close()  # as a killed process would leave it
    (store.tmp_dir / "junk").write_bytes(b"x")
    kept = store.begin()
    kept.write(b"y")
    kept.commit()
    kept.release()
    assert store.cleanup_tmp(older_than_seconds=3600) == 0  # too fresh to be a crash
    assert store.cleanup_tmp() == 2
    assert list(store.tmp_dir.iterdir()) == []
    assert list(store.ids()) == [kept.envelope_id]


def test_prepare_instance_removes_crash_leftovers_but_keeps_recorded_envelopes(app, client):
    from intake_support import stored, submit

    from intake.config import load_config
    from intake.startup import prepare_instance

    submit(client)
    config = app.extensions["sealdrop"].config
    store = EnvelopeStore(config.storage_dir)
    kept = set(store.ids())
    orphan = store.begin()
    orphan.write(b"sealed but never recorded")
    orphan.commit()
    orphan.release()  # as a crash before the database commit would leave it
    partial = store.begin()
    partial.write(b"half")
    partial.file.close()
    report = prepare_instance(load_config(config.instance_dir))
    assert (report.partial_uploads_removed, report.orphan_envelopes_removed) == (1, 1)
    assert set(store.ids()) == kept
    assert stored(app).envelopes == len(kept) == 1


def _write_behind_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "write-behind"]


def test_a_large_envelope_is_written_behind_in_order(store: EnvelopeStore) -> None:
    """Past WRITE_BEHIND_AFTER a helper thread writes; every byte lands, in order, and the
    thread is gone after commit."""
    pieces = [os.urandom(size) for size in (65553,) * 100 + (7, 300_000, 1)]
    pending = store.begin()
    started = False
    for piece in pieces:
        pending.write(piece)
        started = started or bool(_write_behind_threads())
    assert started
    pending.commit()
    pending.release()
    assert _write_behind_threads() == []
    with store.open(pending.envelope_id) as handle:
        assert handle.read() == b"".join(pieces)


def test_a_small_envelope_starts_no_thread(store: EnvelopeStore) -> None:
    pending = store.begin()
    for _ in range(30):
        pending.write(os.urandom(65553))
        assert _write_behind_threads() == []
    pending.commit()
    pending.release()


def test_discarding_while_written_behind_leaves_nothing(store: EnvelopeStore) -> None:
    pending = store.begin()
    for _ in range(200):
        pending.write(os.urandom(65553))
    pending.discard()
    assert _write_behind_threads() == []
    assert list(store.tmp_dir.iterdir()) == []
    assert list(store.ids()) == []


def test_a_write_error_behind_reaches_the_writer(store: EnvelopeStore) -> None:
    """A failed write on the helper thread is raised to the caller at a later write()
    (here: the file is closed under it), never dropped; nothing is published."""
    pending = store.begin()
    for _ in range(50):
        pending.write(os.urandom(65553))
    pending.file.close()  # every later write on the helper fails

    def write_more() -> None:
        for _ in range(200):  # queued writes alone never touch the file: only the helper
            pending.write(os.urandom(65553))

    with pytest.raises(ValueError, match="closed file"):
        write_more()
    pending.discard()
    assert list(store.ids()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_hosts_sharing_storage_never_clean_each_others_uploads(tmp_path: Path) -> None:
    """Two intake hosts on one shared storage/ (docs/scale-out.md): host A's clean-up at
    start and stop removes its own leftovers only; host B's upload in progress survives
    and is committed intact."""
    root = tmp_path / "storage"
    (root / "tmp").mkdir(parents=True)
    host_a, host_b = EnvelopeStore(root, host="intake-a"), EnvelopeStore(root, host="intake-b")
    assert host_a.tmp_dir != host_b.tmp_dir
    assert host_a.tmp_dir.parent == host_b.tmp_dir.parent == root / "tmp"
    live = host_b.begin()
    live.write(b"first half of B's upload")
    crashed = host_a.begin()
    crashed.write(b"A's upload cut off by a crash")
    crashed.file.close()
    assert host_a.cleanup_tmp() == 1
    assert host_a.remove_abandoned() == 0
    live.write(b", second half")
    live.commit()
    live.release()
    with host_a.open(live.envelope_id) as handle:
        assert handle.read() == b"first half of B's upload, second half"


def test_the_host_folder_defaults_to_the_machine_name_and_refuses_paths(tmp_path: Path) -> None:
    import socket

    root = tmp_path / "storage"
    (root / "tmp").mkdir(parents=True)
    store = EnvelopeStore(root)
    assert store.tmp_dir.name == socket.gethostname()
    for bad in ("..", ".hidden", "a/b", "-x", "x" * 64, "é"):
        with pytest.raises(StorageError):
            EnvelopeStore(root, host=bad)
    # Made by the first upload only: a reader (an export run as another user) makes none.
    assert list((root / "tmp").iterdir()) == []
    assert store.cleanup_tmp() == store.remove_abandoned() == 0
    store.begin().discard()
    assert sorted(p.name for p in (root / "tmp").iterdir()) == [socket.gethostname()]
    assert (root / "tmp" / socket.gethostname()).stat().st_mode & 0o777 == 0o700


def test_an_envelope_being_recorded_is_not_taken_for_an_orphan(app, client) -> None:
    """Between the rename into storage/ and the database commit a file has no row yet; a
    start-up on another host sharing storage/ must not remove it. Its writer holds it
    until release(); once let go without a row (a crash), the next start-up removes it."""
    from intake.config import load_config
    from intake.startup import prepare_instance

    config = load_config(app.extensions["sealdrop"].config.instance_dir)
    store = EnvelopeStore(config.storage_dir, host=config.storage.host)
    recording = store.begin()
    recording.write(b"sealed, its row about to be committed")
    recording.commit()
    assert prepare_instance(config).orphan_envelopes_removed == 0
    assert list(store.ids()) == [recording.envelope_id]
    recording.release()
    assert prepare_instance(config).orphan_envelopes_removed == 1
    assert list(store.ids()) == []


def test_an_orphan_is_asked_about_again_once_its_lock_is_taken(store: EnvelopeStore) -> None:
    """The first look at the database may predate the writer's commit: remove_unrecorded
    asks again while holding the lock, and keeps the file if a row exists by then."""
    import fcntl

    pending = store.begin()
    pending.write(b"sealed")
    pending.commit()
    pending.release()
    asked: list[bool] = []

    def recorded_meanwhile(_envelope_id: str) -> bool:
        # The question is asked under the lock: nobody else can take it now.
        probe = os.open(store.path(pending.envelope_id), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
        asked.append(True)
        return True

    assert not store.remove_unrecorded(pending.envelope_id, recorded_meanwhile)
    assert asked == [True]
    assert list(store.ids()) == [pending.envelope_id]
    assert store.remove_unrecorded(pending.envelope_id, lambda _id: False)
    assert list(store.ids()) == []
    assert not store.remove_unrecorded(pending.envelope_id, lambda _id: False)  # already gone
