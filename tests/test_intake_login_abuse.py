"""Login abuse without IP addresses: bounded derivations (busy page) and a global
failed-login budget with backoff."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from intake_support import (
    csrf_token,
    login,
    nothing_stored,
    post_parts,
    stored,
    submission_parts,
    submit,
)

from intake import create_app
from intake.config import LoginPolicy, load_config
from intake.login_guard import Busy, DerivationGate, FailedLoginLimiter


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_locks_after_the_budget_and_doubles_the_wait() -> None:
    clock = FakeClock()
    limiter = FailedLoginLimiter(3, 60, 600, clock)
    for _ in range(2):
        limiter.record_failure()
    assert limiter.retry_after() == 0
    limiter.record_failure()
    assert limiter.retry_after() == 60
    clock.now += 61
    assert limiter.retry_after() == 0
    for _ in range(3):
        limiter.record_failure()
    assert limiter.retry_after() == 120  # a second lock soon after: twice as long
    for _ in range(5):
        clock.now += 121
        for _ in range(3):
            limiter.record_failure()
    assert limiter.retry_after() == 600  # capped


def test_the_backoff_resets_after_a_quiet_spell() -> None:
    clock = FakeClock()
    limiter = FailedLoginLimiter(2, 60, 600, clock)
    limiter.record_failure()
    limiter.record_failure()
    clock.now += 61
    limiter.record_failure()
    limiter.record_failure()
    assert limiter.retry_after() == 120
    clock.now += 10_000
    limiter.record_failure()
    limiter.record_failure()
    assert limiter.retry_after() == 60


def test_failures_spread_over_time_never_lock() -> None:
    clock = FakeClock()
    limiter = FailedLoginLimiter(3, 60, 600, clock)
    for _ in range(50):
        limiter.record_failure()
        clock.now += 30
    assert limiter.retry_after() == 0


def test_the_gate_bounds_concurrent_derivations() -> None:
    gate = DerivationGate(slots=2, wait_seconds=0.01)
    with gate.slot(), gate.slot(), pytest.raises(Busy), gate.slot():
        pass
    with gate.slot():  # released again
        pass


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """Two failures per window, one derivation at a time, almost no waiting."""
    policy = LoginPolicy(
        max_concurrent_derivations=1,
        derivation_wait_seconds=0.01,
        failures_per_window=2,
        window_seconds=60,
        max_backoff_seconds=600,
    )
    application = create_app(dataclasses.replace(load_config(instance), login=policy))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


def test_a_full_gate_answers_busy_for_logins_and_first_submissions(app, client) -> None:
    receipt = submit(client)
    gate = app.extensions["sealdrop"].gate
    token = csrf_token(client)
    with gate.slot():
        response = login(client, receipt)
        assert response.status_code == 503
        assert b"busy" in response.data
        busy = post_parts(client, submission_parts(token, files=[(b"a.jpg", b"x" * 100)]))
        assert busy.status_code == 503
        assert b"busy" in busy.data
    assert stored(app).envelopes == 1  # only the first submission
    assert stored(app).tmp_files == []
    assert login(client, receipt).status_code == 303


def test_too_many_failures_lock_logins_for_everyone(app, client) -> None:
    receipt = submit(client)
    assert login(client, "1111 1111 1111 1111 1111").status_code == 403
    assert login(client, "2222 2222 2222 2222 2222").status_code == 403
    locked = login(client, receipt)  # even the right receipt waits: the lock is global
    assert locked.status_code == 429
    assert b"Too many wrong receipts" in locked.data
    assert stored(app).sessions == 0


def test_malformed_receipts_do_not_spend_the_budget(app, client) -> None:
    receipt = submit(client)
    for _ in range(5):
        assert login(client, "12").status_code == 400
    assert login(client, receipt).status_code == 303


def test_busy_submission_keeps_nothing(app, client) -> None:
    token = csrf_token(client)
    with app.extensions["sealdrop"].gate.slot():
        assert post_parts(client, submission_parts(token)).status_code == 503
    assert nothing_stored(app)
