"""SIGKILL at random moments: `import`, `case add` and `reply` are each killed again and
again; after every kill the vault opens, verify-log passes and the state is exactly the
one from before the command or the one after it (SQLCipher's rollback journal)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).parent / "sealdrop-admin"
KILLS = 30
BUDGET_SECONDS = 50.0  # per command: fewer than KILLS kills on a slow machine, at least 5
TIPS_PER_BUNDLE = 60


def _state(admin: AdminRunner) -> tuple[int, int, int, int]:
    """(tips, tips in cases, replies, custody entries), after checking the chain."""
    verified = admin("verify-log", "--json")
    assert verified.exit_code == 0, verified.output
    entries = json.loads(verified.stdout)["entries"]
    tips = json.loads(admin("inbox", "--all", "--limit", "1", "--json").stdout)["total"]
    new = json.loads(admin("inbox", "--limit", "1", "--json").stdout)["total"]
    cases = json.loads(admin("case", "list", "--limit", "1000", "--json").stdout)["cases"]
    replies = json.loads(admin("log", "--limit", "1000", "--json").stdout)["entries"]
    sent = sum(1 for e in replies if e["action"] == "reply")
    assert tips - new <= sum(c["tips"] for c in cases)
    # verify-log itself logs nothing; each check above reads only.
    return tips, sum(c["tips"] for c in cases), sent, entries


def _run_killed(args: list[str], env: dict[str, str], delay: float) -> bool:
    """Start the command, SIGKILL it after `delay` s; True if it was killed (not done)."""
    proc = subprocess.Popen(
        [str(ADMIN), *args, "--actor", "t"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60) == -signal.SIGKILL


def _duration(args: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run([str(ADMIN), *args, "--actor", "t"], env=env, check=True, capture_output=True)
    return time.monotonic() - start


@pytest.mark.slow
def test_kills_at_random_moments_leave_before_or_after(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    env = {**os.environ, **admin.env()}
    sources = [Source() for _ in range(4)]

    def bundle(n: int) -> Path:
        envelopes = []
        for i in range(TIPS_PER_BUNDLE):
            envelopes += instance.submit(sources[i % 4], f"第{n}批第{i}份。" + "证词。" * 300)
        return instance.bundle(tmp_path / f"b{n}.sdb", envelopes)

    assert admin("import", str(bundle(0))).exit_code == 0
    import_time = _duration(["import", str(bundle(1))], env)
    outcomes = {"import": [0, 0], "case add": [0, 0], "reply": [0, 0]}

    # import: each round a new bundle; all of its tips or none.
    deadline = time.monotonic() + BUDGET_SECONDS
    for n in range(2, 2 + KILLS):
        if time.monotonic() > deadline:
            break
        before = _state(admin)
        path = bundle(n)
        _run_killed(["import", str(path), "--silent"], env, rng.uniform(0, import_time * 1.2))
        after = _state(admin)
        assert after[0] in (before[0], before[0] + TIPS_PER_BUNDLE), (before, after)
        done = after[0] != before[0]
        outcomes["import"][done] += 1
        # Nothing half-kept: a rerun finishes it, and imports nothing twice.
        rerun = json.loads(admin("import", str(path), "--json").stdout)
        assert len(rerun["imported"]) == (0 if done else TIPS_PER_BUNDLE)
        assert _state(admin)[0] == before[0] + TIPS_PER_BUNDLE

    # case add: every tip of the vault into a fresh case; all of them or none.
    tips = _state(admin)[0]
    all_tips = [f"T{t}" for t in range(1, tips + 1)]
    assert admin("case", "new", "timing").exit_code == 0
    add_time = _duration(["case", "add", "C1", *all_tips], env)
    deadline = time.monotonic() + BUDGET_SECONDS
    for n in range(2, 2 + KILLS):
        if time.monotonic() > deadline:
            break
        assert admin("case", "new", f"case {n}").exit_code == 0
        before = _state(admin)
        _run_killed(["case", "add", f"C{n}", *all_tips], env, rng.uniform(0, add_time * 1.2))
        after = _state(admin)
        assert after[1] in (before[1], before[1] + tips), (before, after)
        detail = json.loads(admin("case", "show", f"C{n}", "--json").stdout)
        assert len(detail["tips"]) in (0, tips)
        outcomes["case add"][after[1] != before[1]] += 1

    # reply: one more reply, with its custody entry, or nothing.
    reply_args = ["reply", sources[0].source_id[:8], "--message", "请再告诉我们一些。"]
    reply_time = _duration(reply_args, env)
    deadline = time.monotonic() + BUDGET_SECONDS
    for _ in range(KILLS):
        if time.monotonic() > deadline:
            break
        before = _state(admin)
        _run_killed(reply_args, env, rng.uniform(0, reply_time * 1.2))
        after = _state(admin)
        assert after[2] in (before[2], before[2] + 1), (before, after)
        assert after[3] - before[3] == after[2] - before[2]  # one custody entry per reply
        outcomes["reply"][after[2] != before[2]] += 1

    print("kills (before, after):", outcomes)
    for name, (kept_before, kept_after) in outcomes.items():
        assert kept_before + kept_after >= 5, f"{name}: too few kills in the time budget"
