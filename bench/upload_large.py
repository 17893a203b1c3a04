"""Item 2: one 1 GiB upload through `sealdrop serve --no-tor` on loopback, sent by curl.

Run: `python -m bench upload`. A real vault and instance are made with the CLIs in a
temporary directory. Throughput is the file's size over curl's wall time, as a ratio of raw
secretstream push measured in the same run. Memory: VmRSS of the source app's gunicorn
arbiter and workers sampled every 50 ms, and each worker's VmHWM (peak) at the end, against
their VmRSS when idle after a few warm-up submissions. Afterwards the envelope is opened
with the vault's key and its SHA-256 compared with the file's: the upload arrived whole.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.harness import (
    BENCH_PASSPHRASE,
    BenchResult,
    Figure,
    GiB,
    MiB,
    Server,
    curl_token,
    curl_upload_command,
    make_instance,
    proc_status,
    random_file,
    raw_push_mbps,
    rss_figure,
    sized,
    workdir,
)

SPEED_TARGET = 0.3
RSS_TARGET_MIB = 64
WARMUPS = 6
STREAMING_AFTER_SECONDS = 1.5
COMMAND = "python -m bench upload"


class RssSampler(threading.Thread):
    """Samples VmRSS of some processes every `interval` seconds; keeps each one's maximum."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak: dict[int, int] = {}
        self.peak_total = 0
        self.marked = False
        self.peak_after_mark: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            total = 0
            for pid in self.pids:
                rss = proc_status(pid).get("VmRSS", 0)
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
                if self.marked:
                    self.peak_after_mark[pid] = max(self.peak_after_mark.get(pid, 0), rss)
                total += rss
            self.peak_total = max(self.peak_total, total)
            time.sleep(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_push_cpu_per_gib() -> float:
    """CPU seconds raw secretstream push spends per GiB (this process, one thread)."""
    from bench.crypto_throughput import raw_push_discarding

    data, key = os.urandom(256 * MiB), os.urandom(32)
    start = time.process_time()
    raw_push_discarding(data, key)
    return (time.process_time() - start) * 4


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def _check_envelope(instance: Path, vault: Path, sha256: str, size: int) -> str:
    """Open the largest stored envelope with the vault key; fail unless it is our file."""
    from crypto.envelope import Opener
    from crypto.keys import unlock_private_key

    key = unlock_private_key(
        (vault / "keys" / "recipient.key").read_text(), BENCH_PASSPHRASE.encode()
    )
    largest = max((instance / "storage").glob("*.sealed"), key=lambda p: p.stat().st_size)

    class Null:
        def write(self, data: bytes) -> int:
            return len(data)

    with largest.open("rb") as src:
        opened = Opener([key]).open(src, Null())  # type: ignore[list-item]
    if opened.sha256 != sha256 or opened.size != size:
        raise RuntimeError("the stored envelope is not the uploaded file")
    return largest.name


def run() -> None:
    """Upload one large file through the real server; throughput and RSS growth."""
    result = BenchResult("upload")
    size = sized(1024, 256) * MiB
    raw_before = raw_push_mbps(sized(256, 64) * MiB)
    with workdir("upload") as tmp:
        made = make_instance(tmp)
        data = random_file(tmp / "upload.bin", size)
        sha256 = _sha256_file(data)
        small = random_file(tmp / "small.bin", MiB)
        jar = tmp / "cookies"
        with Server(made.instance, tmp) as server:
            token = curl_token(server.url, jar)
            for _ in range(WARMUPS):  # every worker has built its app and served an upload
                out = subprocess.run(
                    curl_upload_command(server.url, jar, token, "warm-up", str(small)),
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                if not out.startswith("200"):
                    raise RuntimeError(f"warm-up upload failed: {out}")
            arbiter, workers = server.source_arbiter(), server.source_workers()
            time.sleep(1)
            idle = {pid: proc_status(pid)["VmRSS"] for pid in [arbiter, *workers]}
            sampler = RssSampler([arbiter, *workers])
            sampler.start()
            cpu_before = sum(cpu_seconds(pid) for pid in [arbiter, *workers])
            start = time.perf_counter()
            upload = subprocess.Popen(
                curl_upload_command(server.url, jar, token, "the large file", str(data)),
                stdout=subprocess.PIPE,
                text=True,
            )
            # The receipt derivation (Argon2id, 64 MiB) runs as the file part begins; what
            # follows is the streaming alone.
            time.sleep(STREAMING_AFTER_SECONDS)
            sampler.marked = True
            out, _err = upload.communicate()
            seconds = time.perf_counter() - start
            worker_cpu = sum(cpu_seconds(pid) for pid in [arbiter, *workers]) - cpu_before
            time.sleep(0.2)
            sampler.stop()
            hwm = {pid: proc_status(pid).get("VmHWM", 0) for pid in workers}
            command = server.command
        if not out.startswith("200"):
            raise RuntimeError(f"the large upload failed: {out}")
        engine = create_engine(f"sqlite:///{made.instance / 'sealdrop.db'}")
        with engine.connect() as conn:
            files = conn.scalar(text("SELECT count(*) FROM envelopes WHERE kind = 'file'"))
        engine.dispose()
        if files != WARMUPS + 1:
            raise RuntimeError(f"expected {WARMUPS + 1} file envelopes, found {files}")
        stored = _check_envelope(made.instance, made.vault, sha256, size)
    # The baseline brackets the upload (before and after): the load changes by the minute.
    raw_after = raw_push_mbps(sized(256, 64) * MiB)
    raw = (raw_before + raw_after) / 2
    speed = size / seconds / 1e6
    ratio = speed / raw
    result.add(
        Figure(
            name=f"{size // MiB} MiB upload, curl -F to sealdrop serve --no-tor (loopback)",
            value=speed,
            unit="MB/s",
            baseline="raw secretstream push",
            baseline_value=raw,
            ratio=ratio,
            target=f">= {SPEED_TARGET}x",
            met=ratio >= SPEED_TARGET,
            command=COMMAND,
            notes=f"{seconds:.1f} s",
        )
    )
    cpu_per_gib = worker_cpu / (size / GiB)
    raw_cpu = raw_push_cpu_per_gib()
    result.add(
        Figure(
            name="server CPU per GiB uploaded (arbiter + workers, all threads)",
            value=cpu_per_gib,
            unit="CPU s/GiB",
            baseline="raw secretstream push, CPU s/GiB",
            baseline_value=raw_cpu,
            ratio=raw_cpu / cpu_per_gib,
            command=COMMAND,
            notes="ratio as for speed (raw / ours); CPU time is not stretched by other load",
        )
    )
    growth = {pid: max(hwm[pid], sampler.peak.get(pid, 0)) - idle[pid] for pid in workers}
    busiest = max(growth, key=lambda pid: growth[pid])
    streaming = {pid: sampler.peak_after_mark.get(pid, 0) - idle[pid] for pid in workers}
    for name, grown in (
        ("peak RSS of the worker that took the upload", growth[busiest]),
        ("peak RSS of that worker while streaming (after the receipt derivation)",
         streaming[busiest]),
    ):  # fmt: skip
        result.add(
            rss_figure(
                name,
                idle[busiest] + grown,
                idle[busiest],
                baseline="its RSS when idle",
                target=f"grows <= {RSS_TARGET_MIB} MiB",
                limit_mib=RSS_TARGET_MIB,
                command=COMMAND,
            )
        )
    idle_total = sum(idle.values())
    result.add(
        Figure(
            name="peak RSS, arbiter + all workers (sampled every 50 ms)",
            value=sampler.peak_total / 1024,
            unit="MiB",
            baseline="the same processes idle",
            baseline_value=idle_total / 1024,
            ratio=sampler.peak_total / idle_total,
            target=f"grows <= {RSS_TARGET_MIB} MiB",
            met=(sampler.peak_total - idle_total) / 1024 <= RSS_TARGET_MIB,
            command=COMMAND,
            notes=f"grows by {(sampler.peak_total - idle_total) / 1024:.1f} MiB",
        )
    )
    result.details = {
        "server": command,
        "curl_output": out.strip(),
        "file_bytes": size,
        "envelope": stored,
        "idle_rss_kib": idle,
        "sampled_peak_rss_kib": sampler.peak,
        "worker_vmhwm_kib": hwm,
        "gib": size / GiB,
        "raw_push_mbps_before_after": [raw_before, raw_after],
    }
    result.save()
