"""Run benchmarks: `python -m bench` runs all, `python -m bench crypto` runs one.

Each bench is a module of this package with a `run() -> None` that prints its own table
(and records its figures in bench/results/NAME.json). To add one, add its name and module
to BENCHES. `--quick` runs every bench at small sizes (minutes instead of a quarter hour);
after a run, bench/results/table.md holds the table of every recorded figure.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

BENCHES = {
    "crypto": "bench.seal_open",
    "upload": "bench.upload_large",
    "slow": "bench.slow_clients",
    "tips": "bench.small_tips",
    "import": "bench.offline_import",
    "gpg": "bench.gpg_compare",
    "workspace": "bench.workspace_pages",
    "vault": "bench.vault_scale",
    "sandbox": "bench.sandbox_cost",
    "flood": "bench.bundle_flood",
}


def main(argv: list[str] | None = None) -> int:
    """Run the named benches (all when none is named)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Sealdrop's speed and memory (docs/performance.md).",
        epilog="Example: python -m bench crypto   |   python -m bench --quick",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(BENCHES)}")
    parser.add_argument("--list", action="store_true", help="list the benches and exit")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--table", action="store_true", help="only print the table of the recorded results"
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(BENCHES))
        return 0
    from bench.harness import loadavg
    from bench.report import write_table

    if args.table:
        print(write_table())
        return 0
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        print(f"Error: unknown bench {', '.join(unknown)}; try --list", file=sys.stderr)
        return 1
    if args.quick:
        os.environ["SEALDROP_BENCH_QUICK"] = "1"
    for name in args.names or list(BENCHES):
        print(f"== {name} == (load average {loadavg()})", flush=True)
        start = time.monotonic()
        importlib.import_module(BENCHES[name]).run()
        print(f"   ({time.monotonic() - start:.0f} s)", flush=True)
    print(write_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
