"""Item 3: 200 slow uploads at once (50 KB/s each, like sources behind a Tor bridge) and,
meanwhile, how long the landing page takes.

Run: `python -m bench slow`. A real instance under `sealdrop serve --no-tor` on loopback;
each upload is a curl with `--limit-rate 50k` sending a 3 MB file (about 60 s), started over
a 40 s ramp (new sources each cost an Argon2id derivation, as real first submissions do), so
all are in flight together for the last 20 s. A prober starts GET / on a fresh connection
every 0.2 s (each in its own thread) until the last upload ends.
Baseline: the same prober against the idle server just before. Afterwards every upload
must have answered 200 and be in the database and on disk (none lost).
Bounded: loopback only, a fixed number of clients, each with curl --max-time.
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.harness import (
    BenchResult,
    Figure,
    Server,
    curl_token,
    curl_upload_command,
    make_instance,
    percentile,
    proc_status,
    random_file,
    sized,
    workdir,
)

RATE = "50k"  # curl's k is 1024 bytes
P99_TARGET_SECONDS = 0.5
PROBE_INTERVAL = 0.2
PROBE_TIMEOUT = 60.0
COMMAND = "python -m bench slow"


class Prober(threading.Thread):
    """Starts GET / on a new connection every PROBE_INTERVAL seconds, each in a thread of
    its own, so a slow answer does not delay the probes after it (a stalled server shows
    in every probe that arrives meanwhile, as it does for visitors)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.latencies: list[float] = []
        self.started: list[float] = []  # when each probe began (perf_counter)
        self.failures = 0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._probes: list[threading.Thread] = []

    def probe(self) -> None:
        """One GET / and its latency (failures count too, with their time)."""
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PROBE_TIMEOUT)
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            conn.close()
            ok = response.status == 200
        except OSError:
            ok = False
        elapsed = time.perf_counter() - start
        with self._lock:
            self.latencies.append(elapsed)
            self.started.append(start)
            self.failures += 0 if ok else 1

    def run(self) -> None:
        next_at = time.perf_counter()
        while not self._done.is_set():
            probe = threading.Thread(target=self.probe, daemon=True)
            probe.start()
            self._probes.append(probe)
            next_at += PROBE_INTERVAL
            self._done.wait(max(0.0, next_at - time.perf_counter()))

    def stop(self) -> None:
        """Stop starting probes; wait for those under way."""
        self._done.set()
        self.join()
        for probe in self._probes:
            probe.join()


class ServerSampler(threading.Thread):
    """Peak threads and RSS of the source app's processes while the uploads run."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_threads = 0
        self.peak_rss_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            status = [proc_status(pid) for pid in self.pids]
            self.peak_threads = max(self.peak_threads, sum(s.get("Threads", 0) for s in status))
            self.peak_rss_kib = max(self.peak_rss_kib, sum(s.get("VmRSS", 0) for s in status))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _stored(instance: Path) -> tuple[int, int, int]:
    """(file envelope rows, envelope files on disk, partial files left in storage/tmp)."""
    engine = create_engine(f"sqlite:///{instance / 'sealdrop.db'}")
    with engine.connect() as conn:
        rows = conn.scalar(text("SELECT count(*) FROM envelopes WHERE kind = 'file'")) or 0
        all_rows = conn.scalar(text("SELECT count(*) FROM envelopes")) or 0
    engine.dispose()
    on_disk = len(list((instance / "storage").glob("*.sealed")))
    partial = sum(1 for p in (instance / "storage" / "tmp").rglob("*") if not p.is_dir())
    if on_disk != all_rows:
        raise RuntimeError(f"{on_disk} envelope files but {all_rows} rows")
    return rows, on_disk, partial


def run() -> None:
    """Slow uploads and landing-page latency; every upload must be stored."""
    result = BenchResult("slow")
    clients = sized(200, 40)
    upload_bytes = sized(3_000_000, 500_000)
    ramp = float(sized(40, 8))
    max_time = 4 * upload_bytes / 51200 + 120
    with workdir("slow") as tmp:
        made = make_instance(tmp)
        data = random_file(tmp / "slow.bin", upload_bytes)
        jar = tmp / "cookies"
        with Server(made.instance, tmp) as server:
            token = curl_token(server.url, jar)
            idle = Prober(server.port)
            for _ in range(50):  # the idle baseline, at the same pace
                idle.probe()
                time.sleep(PROBE_INTERVAL)
            pids = [server.source_arbiter(), *server.source_workers()]
            idle_rss = sum(proc_status(pid).get("VmRSS", 0) for pid in pids)
            sampler = ServerSampler(pids)
            sampler.start()
            prober = Prober(server.port)
            prober.start()
            start = time.perf_counter()
            command = [
                "curl",
                "--limit-rate",
                RATE,
                "--max-time",
                str(int(max_time)),
                *curl_upload_command(server.url, jar, token, "a slow source", str(data))[1:],
            ]
            uploads = []
            for index in range(clients):
                wait = start + ramp * index / clients - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                uploads.append(
                    subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    )
                )
            outputs = [proc.communicate() for proc in uploads]
            elapsed = time.perf_counter() - start
            prober.stop()
            sampler.stop()
            server_command = server.command
        statuses = [
            out.split()[0] if out.strip() else f"curl exit {p.returncode}"
            for (out, _), p in zip(outputs, uploads, strict=True)
        ]
        times = [float(out.split()[1]) for out, _err in outputs if len(out.split()) == 2]
        rows, on_disk, partial = _stored(made.instance)
    ok = statuses.count("200")
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        loaded, base = percentile(prober.latencies, fraction), percentile(idle.latencies, fraction)
        result.add(
            Figure(
                name=f"GET / latency {name} during {clients} uploads at 50 KiB/s",
                value=loaded,
                unit="s",
                baseline=f"GET / {name}, idle server",
                baseline_value=base,
                ratio=loaded / base,
                target=f"p99 <= {P99_TARGET_SECONDS} s" if name == "p99" else "",
                met=loaded <= P99_TARGET_SECONDS if name == "p99" else None,
                command=COMMAND,
                notes=f"{len(prober.latencies)} probes, {prober.failures} failed"
                if name == "p99"
                else "",
            )
        )
    # After the ramp every upload is in flight and no new source needs a derivation:
    # the pool of threads alone is tested there.
    streaming = [
        latency
        for begun, latency in zip(prober.started, prober.latencies, strict=True)
        if begun >= start + ramp + 2
    ]
    base99 = percentile(idle.latencies, 0.99)
    result.add(
        Figure(
            name=f"GET / p99 after the ramp (all {clients} streaming, no derivations)",
            value=percentile(streaming, 0.99),
            unit="s",
            baseline="GET / p99, idle server",
            baseline_value=base99,
            ratio=percentile(streaming, 0.99) / base99,
            target=f"p99 <= {P99_TARGET_SECONDS} s",
            met=percentile(streaming, 0.99) <= P99_TARGET_SECONDS,
            command=COMMAND,
            notes=f"{len(streaming)} probes",
        )
    )
    result.add(
        Figure(
            name=f"uploads stored (HTTP 200 and a row and a file each) of {clients}",
            value=rows,
            unit="uploads",
            baseline="uploads sent",
            baseline_value=clients,
            ratio=rows / clients,
            target="none lost",
            met=rows == clients and ok == clients and partial == 0,
            command=COMMAND,
            notes=f"{ok} answered 200, {statuses.count('503')} refused as busy (503); "
            f"{partial} partial files left",
        )
    )
    result.details = {
        "server": server_command,
        "clients": clients,
        "bytes_each": upload_bytes,
        "ramp_seconds": ramp,
        "elapsed_seconds": round(elapsed, 1),
        "upload_seconds_min_median_max": [
            min(times, default=0),
            percentile(times, 0.5),
            max(times, default=0),
        ],
        "statuses": {s: statuses.count(s) for s in set(statuses)},
        "probe_latencies_s": [round(x, 4) for x in prober.latencies],
        "idle_probe_latencies_s": [round(x, 4) for x in idle.latencies],
        "peak_server_threads": sampler.peak_threads,
        "idle_rss_mib": round(idle_rss / 1024, 1),
        "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
        "envelope_files_on_disk": on_disk,
    }
    print(
        f"  uploads took {min(times, default=0):.1f}-{max(times, default=0):.1f} s; "
        f"statuses {result.details['statuses']}; peak server threads {sampler.peak_threads}; "
        f"RSS {idle_rss / 1024:.0f} -> {sampler.peak_rss_kib / 1024:.0f} MiB",
        flush=True,
    )
    result.save()
