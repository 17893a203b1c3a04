"""Item 1: Sealer.seal and Opener.open against raw PyNaCl secretstream, and sealing's memory.

Run: `python -m bench crypto`. The measuring is bench/crypto_throughput.py's (the crypto
engineer's); this module runs it at the bench's sizes and records the figures.
"""

from __future__ import annotations

from bench import crypto_throughput
from bench.harness import BenchResult, Figure, MiB, rss_figure, sized

TARGET = 0.8
COMMAND = "python -m bench crypto"


def run() -> None:
    """Seal/open throughput ratios to raw secretstream; peak RSS of 1 GiB streamed both ways."""
    result = BenchResult("crypto")
    size = sized(256, 64) * MiB
    rss_size = sized(1024, 256) * MiB
    rounds = sized(5, 3)
    print(f"  {size // MiB} MiB of random data in memory, median of {rounds} rounds", flush=True)
    # Each round measures the raw cipher and ours back to back, so a ratio is never taken
    # across a change of load; the median round is kept.
    per_round = [
        {name: speed for name, speed, _ratio in crypto_throughput.throughput(size, 1)}
        for _ in range(rounds)
    ]
    for name, raw_name, raw_key in (
        ("Sealer.seal", "raw secretstream push", "raw secretstream push, 64 KiB"),
        ("EnvelopeWriter.write", "raw secretstream push", "raw secretstream push, 64 KiB"),
        ("Opener.open", "raw secretstream pull", "raw secretstream pull, 64 KiB"),
    ):
        ratios = sorted(r[name] / r[raw_key] for r in per_round)
        ratio = ratios[len(ratios) // 2]
        middle = next(r for r in per_round if r[name] / r[raw_key] == ratio)
        raw = middle[raw_key]
        speeds = {name: middle[name]}
        result.add(
            Figure(
                name=f"{name} ({size // MiB} MiB in memory to a null sink)"
                + (" (1 MiB writes: the intake and vault path)" if "write" in name else ""),
                value=speeds[name],
                unit="MB/s",
                baseline=f"{raw_name} (64 KiB chunks)",
                baseline_value=raw,
                ratio=ratio,
                target=f">= {TARGET}x",
                met=ratio >= TARGET,
                command=COMMAND,
                notes=f"ratios of the rounds: {', '.join(f'{x:.2f}' for x in ratios)}",
            )
        )
    idle = crypto_throughput._child_peak_rss(rss_size, seal=False)
    sealing = crypto_throughput._child_peak_rss(rss_size, seal=True)
    opening = crypto_throughput.peak_rss_open(rss_size)
    for what, peak in (("sealing", sealing), ("opening", opening)):
        source = "streamed" if what == "sealing" else "streamed from a pipe"
        result.add(
            rss_figure(
                f"peak RSS {what} {rss_size // MiB} MiB {source}",
                peak,
                idle,
                baseline="a child that only sets up",
                target="flat (constant memory)",
                limit_mib=16,
                command=COMMAND,
            )
        )
    result.save()
