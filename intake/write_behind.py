"""Writing a large envelope's sealed bytes from a helper thread.

Copying into the page cache costs about as much CPU here as the cipher does (`python -m
bench upload`, docs/performance.md): done on the request thread, it halves a large upload's
speed. A WriteBehind takes batches of sealed bytes and writes them in order on its own
thread, so the request thread goes on reading, parsing and sealing; the write system call
releases the GIL, so on a second core the two overlap. Small envelopes never start one.

Memory stays bounded: at most MAX_BATCHES batches wait; past that the caller waits for the
writer. Nothing is ever lost silently: a write error is kept and raised to the caller at its
next put() or at finish(), and the caller then discards the whole envelope.
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

BATCH_BYTES = 256 * 1024  # handed over in batches: fewer thread switches per MiB
MAX_BATCHES = 8  # at most ~2 MiB waiting per upload


class WriteBehind:
    """Writes batches of bytes to `file`, in order, on a helper thread."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._batches: queue.Queue[list[bytes] | None] = queue.Queue(MAX_BATCHES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True, name="write-behind")
        self._thread.start()  # RuntimeError if no thread can be started: caller writes inline
        self._finished = False

    def _work(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # keep taking batches so a waiting caller is never stuck
            try:
                for data in batch:
                    self._file.write(data)
            except BaseException as exc:  # handed to the caller at its next call, not lost
                self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, batch: list[bytes]) -> None:
        """Queue a batch (bytes the caller will not change); raises an earlier write error."""
        self._raise_error()
        self._batches.put(batch)

    def _end(self) -> None:
        if not self._finished:
            self._finished = True
            self._batches.put(None)
            self._thread.join()

    def finish(self) -> None:
        """Wait until everything queued is written; raise the first write error, if any."""
        self._end()
        self._raise_error()

    def stop(self) -> None:
        """End the thread, dropping what was not written yet (the envelope is discarded)."""
        if not self._finished:
            self._error = self._error or OSError("envelope discarded")  # the helper skips the rest
        self._end()
