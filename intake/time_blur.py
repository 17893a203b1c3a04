"""Blur when tips arrived in the change and birth times of envelope files: every hour
`sealdrop serve` rewrites each envelope committed since its last pass into a new file
(EnvelopeStore.rebirth), so a seized disk shows, per tip, the day and the hourly pass
after it, not the second it came (docs/threat-model.md, "Submission times on disk").

When the last pass began is kept as the modification time of the folder
storage/tmp/.time-blur (shared by hosts sharing storage/; no host folder starts with a
dot), so a restart, even days later, still rewrites what the last run did not."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable

from sqlalchemy import Engine, select

from .models import Envelope
from .storage import EnvelopeStore

PASS_SECONDS = 3600
MARKER = ".time-blur"


class TimeBlur:
    """The hourly pass of one `sealdrop serve`: poll() from its main loop."""

    def __init__(self, store: EnvelopeStore, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self.marker = store.tmp_dir.parent / MARKER
        self.next_pass = 0.0
        # What the previous pass of this process rewrote: their new files' change times
        # are after that pass began, but they need no second rewrite.
        self.rewritten: set[str] = set()

    def _last_pass_started(self) -> float:
        """When the last pass (of any host) began; 0 if none ever ran."""
        with contextlib.suppress(OSError):
            info = os.lstat(self.marker)
            if stat.S_ISDIR(info.st_mode):
                return info.st_mtime
        return 0.0

    def _recorded(self, envelope_id: str) -> bool:
        with self.engine.connect() as connection:
            query = select(Envelope.id).where(Envelope.id == envelope_id)
            return connection.scalar(query) is not None

    def run_pass(self, stop: Callable[[], bool] = lambda: False) -> int:
        """Rewrite every envelope changed since the last pass began; returns how many.
        Checks STOP between files: a stop request ends the pass (the next one goes on)."""
        since = self._last_pass_started()
        started = time.time()
        rewritten: set[str] = set()
        for envelope_id in list(self.store.ids()):
            if stop():
                self.rewritten |= rewritten
                return len(rewritten)  # the marker is left: the next pass covers the rest
            if envelope_id in self.rewritten:
                continue
            try:
                changed = os.lstat(self.store.path(envelope_id)).st_ctime
            except FileNotFoundError:
                continue
            if changed >= since and self.store.rebirth(envelope_id, self._recorded):
                rewritten.add(envelope_id)
        self.rewritten = rewritten
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.marker, 0o700)
        os.utime(self.marker, (started, started), follow_symlinks=False)
        return len(rewritten)

    def poll(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Run a pass if one is due (the first at once)."""
        if time.monotonic() >= self.next_pass:
            self.next_pass = time.monotonic() + PASS_SECONDS
            self.run_pass(stop)
