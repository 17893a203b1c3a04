"""Login abuse without IP addresses (docs/login-abuse.md).

Two global guards, one per process: a bounded number of Argon2id derivations at once
(memory stays bounded whatever the load), and a failed-login budget with growing backoff.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .config import LoginPolicy


class Busy(Exception):
    """Every derivation slot stayed taken for the whole wait."""


class DerivationGate:
    """At most N receipt derivations run at once; others wait briefly, then get Busy."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._wait = wait_seconds

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one derivation slot for the duration of the block."""
        if not self._slots.acquire(timeout=self._wait):
            raise Busy
        try:
            yield
        finally:
            self._slots.release()


class FailedLoginLimiter:
    """Too many failed logins in a window lock logins for a while; repeats double the wait.

    Global, not per client: the server keeps no IP addresses, and behind Tor every
    client looks the same anyway.
    """

    def __init__(
        self,
        failures_per_window: int,
        window_seconds: float,
        max_backoff_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = max(1, failures_per_window)
        self._window = window_seconds
        self._max_backoff = max_backoff_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()
        self._locked_until = 0.0
        self._backoff = 0.0

    @classmethod
    def from_policy(cls, policy: LoginPolicy) -> FailedLoginLimiter:
        """Built from the [login] settings."""
        return cls(policy.failures_per_window, policy.window_seconds, policy.max_backoff_seconds)

    def retry_after(self) -> float:
        """Seconds until logins are accepted again (0 when they are now)."""
        with self._lock:
            return max(0.0, self._locked_until - self._clock())

    def record_failure(self) -> None:
        """Count one failed login; lock when the window's budget is spent."""
        with self._lock:
            now = self._clock()
            self._failures.append(now)
            while self._failures and self._failures[0] <= now - self._window:
                self._failures.popleft()
            if len(self._failures) < self._limit:
                return
            # A quiet spell as long as twice the last lock resets the backoff.
            if now - self._locked_until > 2 * self._backoff:
                self._backoff = 0.0
            self._backoff = min(self._max_backoff, max(self._window, 2 * self._backoff))
            self._locked_until = now + self._backoff
            self._failures.clear()
