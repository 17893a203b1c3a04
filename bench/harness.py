"""What every bench shares: figures with their baseline, results as JSON, the machine's
description and load, a real instance made by the CLIs, and `sealdrop serve` in a process.

A figure is always a ratio against a baseline measured in the same run, because the
machine is shared and noisy: absolute numbers drift with the load, ratios much less.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
GiB = 1024 * MiB
REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
QUICK_ENV = "SEALDROP_BENCH_QUICK"
# The passphrase of the throwaway vaults made here (never a real one).
BENCH_PASSPHRASE = "bench passphrase, throwaway vault"  # noqa: S105 - not a secret


def quick() -> bool:
    """Whether `python -m bench --quick` asked for small sizes."""
    return os.environ.get(QUICK_ENV) == "1"


def sized(full: int, small: int) -> int:
    """`full`, or `small` in quick mode."""
    return small if quick() else full


@dataclass
class Figure:
    """One measured figure beside the baseline it is a ratio of."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    target: str = ""
    met: bool | None = None
    command: str = ""
    notes: str = ""


def rss_figure(
    name: str,
    peak_kib: float,
    idle_kib: float,
    baseline: str,
    target: str,
    limit_mib: float,
    command: str,
) -> Figure:
    """A peak-RSS figure against its idle baseline (KiB in, MiB shown); met if growth <= limit."""
    growth_mib = (peak_kib - idle_kib) / 1024
    return Figure(
        name=name,
        value=peak_kib / 1024,
        unit="MiB",
        baseline=baseline,
        baseline_value=idle_kib / 1024,
        ratio=peak_kib / idle_kib,
        target=target,
        met=growth_mib <= limit_mib,
        command=command,
        notes=f"grows by {growth_mib:.1f} MiB",
    )


@dataclass
class BenchResult:
    """Everything one bench measured, written to bench/results/NAME.json."""

    bench: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    load_start: str = field(default_factory=lambda: loadavg())
    started: float = field(default_factory=time.time)

    def add(self, figure: Figure) -> Figure:
        """Keep a figure and print it as one line."""
        self.figures.append(figure)
        verdict = "" if figure.met is None else (" MET" if figure.met else " NOT MET")
        target = f"  target {figure.target}{verdict}" if figure.target else ""
        print(
            f"  {figure.name}: {figure.value:,.2f} {figure.unit} | {figure.baseline}: "
            f"{figure.baseline_value:,.2f} | ratio {figure.ratio:.3f}{target}",
            flush=True,
        )
        return figure

    def save(self) -> Path:
        """Write the JSON (machine, load at start and end, quick or not, figures, details)."""
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{self.bench}.json"
        data = {
            "bench": self.bench,
            "quick": quick(),
            "machine": machine(),
            "load_start": self.load_start,
            "load_end": loadavg(),
            "seconds": round(time.time() - self.started, 1),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg says them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, Any]:
    """What the numbers were measured on (nproc, lscpu model, memory)."""
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"Model name:\s*(.+)", lscpu)
        model = found.group(1).strip() if found else ""
    meminfo = Path("/proc/meminfo").read_text()
    total = re.search(r"MemTotal:\s*(\d+)", meminfo)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(total.group(1)) / MiB, 1) if total else None,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def best_seconds(repeat: int, work: Any) -> float:
    """Shortest wall time of `repeat` runs of work()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_push_mbps(size: int = 256 * MiB, repeat: int = 3) -> float:
    """Raw secretstream push speed (MB/s, 64 KiB chunks) measured now: the cipher's pace."""
    from bench.crypto_throughput import raw_push_discarding

    data = os.urandom(size)
    key = os.urandom(32)
    return size / best_seconds(repeat, lambda: raw_push_discarding(data, key)) / 1e6


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def script(name: str) -> list[str]:
    """The command line of a console script of this venv (`sealdrop`, `sealdrop-admin`)."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return [str(path)]
    module = "intake.cli" if name == "sealdrop" else "admin.cli"
    return [sys.executable, "-c", f"from {module} import main; main()"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for the CLIs: the repo importable, the bench passphrase."""
    env = {**os.environ, "SEALDROP_ADMIN_PASSPHRASE": BENCH_PASSPHRASE, **extra}
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    return env


@dataclass(frozen=True)
class BenchInstance:
    """A vault and an intake instance made by `sealdrop-admin init` and `sealdrop init`."""

    vault: Path
    instance: Path


def _make_classical(vault: Path) -> None:
    """SEALDROP_BENCH_IDENTITY=classical: an X25519 recipient as vaults made before envelope
    v2 hold, so the hybrid (default) and classical runs can be compared back to back."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from crypto.kdf import TEST_COST
    from crypto.keys import AdminIdentity, lock_private_key, unlock_private_key

    key = PrivateKey.generate()
    passphrase = BENCH_PASSPHRASE.encode()
    signing = unlock_private_key((vault / "keys" / "signing.key").read_text(), passphrase)
    assert isinstance(signing, SigningKey)
    (vault / "keys" / "recipient.key").write_text(lock_private_key(key, passphrase, TEST_COST))
    identity = AdminIdentity((key.public_key,), signing.verify_key)
    (vault / "admin-identity.pub").write_text(identity.to_text())


def make_instance(workdir: Path) -> BenchInstance:
    """Make a vault (production key-file cost) and an instance sealed to it, as users do."""
    vault, instance = workdir / "vault", workdir / "instance"
    subprocess.run(
        [*script("sealdrop-admin"), "init", "--vault", str(vault)],
        check=True,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
    )
    if os.environ.get("SEALDROP_BENCH_IDENTITY") == "classical":
        _make_classical(vault)
    subprocess.run(
        [
            *script("sealdrop"),
            "init",
            "--instance",
            str(instance),
            "--admin-identity",
            str(vault / "admin-identity.pub"),
        ],
        check=True,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
    )
    return BenchInstance(vault, instance)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return out


def children(pid: int) -> list[int]:
    """Direct children of a process (from /proc/PID/task/*/children)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    """A process's command line, spaces between arguments."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class Server:
    """`sealdrop serve --no-tor` on loopback ports of its own; stop() is a graceful SIGTERM."""

    def __init__(self, instance: Path, workdir: Path, workers: int | None = None) -> None:
        self.port, self.staff_port = free_port(), free_port()
        self.log = workdir / "serve.log"
        command = [
            *script("sealdrop"),
            "serve",
            "--instance",
            str(instance),
            "--no-tor",
            "--port",
            str(self.port),
            "--staff-port",
            str(self.staff_port),
        ]
        if workers:
            command += ["--workers", str(workers)]
        env = cli_env()
        if not hasattr(importlib.import_module("intake"), "create_staff_app"):
            # Until the staff app lands, the tests' stand-in takes its port (only the
            # source app is measured; without a staff app `sealdrop serve` stops).
            command += ["--staff-factory", "standin_app:create_app"]
            env["PYTHONPATH"] = f"{REPO / 'tests' / 'standins'}{os.pathsep}{env['PYTHONPATH']}"
        self.command = " ".join(["sealdrop", *command[len(script("sealdrop")) :]])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while b"Ready." not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sealdrop serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        # Both arbiters listen; wait until the source arbiter has all its workers.
        while len(self.source_workers()) < self._expected_workers():
            if time.monotonic() > deadline:
                raise RuntimeError("the source app's workers did not start")
            time.sleep(0.1)

    def _expected_workers(self) -> int:
        from intake.gunicorn_conf import default_workers

        match = re.search(r"--workers (\d+)", self.command)
        return int(match.group(1)) if match else default_workers()

    def source_arbiter(self) -> int:
        """PID of the source app's gunicorn arbiter (master)."""
        for pid in children(self.process.pid):
            if "--role source" in cmdline(pid):
                return pid
        raise RuntimeError("no source app process")

    def source_workers(self) -> list[int]:
        """PIDs of the source app's gunicorn workers."""
        try:
            return children(self.source_arbiter())
        except RuntimeError:
            return []

    @property
    def url(self) -> str:
        """The source app's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM (graceful) and wait; kill if it overstays."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A temporary directory (on disk, like an instance's) removed afterwards."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=f"sealdrop-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def csrf_from(page: bytes) -> str:
    """The CSRF token of the landing page's form."""
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token on the landing page")
    return match.group(1).decode()


def curl_token(base_url: str, cookie_jar: Path) -> str:
    """GET / with curl, keeping the CSRF cookie in `cookie_jar`; returns the form's token."""
    page = subprocess.run(
        ["curl", "-sS", "--fail", "-c", str(cookie_jar), f"{base_url}/"],
        check=True,
        capture_output=True,
    ).stdout
    return csrf_from(page)


def curl_upload_command(
    base_url: str, cookie_jar: Path, token: str, narrative: str, file_arg: str
) -> list[str]:
    """curl posting the landing form (token first) with one file, printing the HTTP status.

    `Expect:` is emptied so curl does not wait for a 100-continue before sending.
    """
    return [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}\n",
        "-b",
        str(cookie_jar),
        "-H",
        "Expect:",
        "-F",
        f"csrf_token={token}",
        "-F",
        f"narrative={narrative}",
        "-F",
        f"files=@{file_arg};type=application/octet-stream",
        f"{base_url}/submit",
    ]


def random_file(path: Path, size: int) -> Path:
    """Write `size` random bytes to `path` (in 1 MiB blocks)."""
    with path.open("wb") as out:
        left = size
        while left > 0:  # all fresh random bytes: nothing along the way can compress them
            out.write(os.urandom(min(left, MiB)))
            left -= MiB
    return path
