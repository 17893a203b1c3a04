"""Run benchmarks: `python -m bench` runs all, `python -m bench crypto` runs one.

Each bench is a module of this package with a `run() -> None` that prints its own table.
To add one, add its name and module to BENCHES.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHES = {
    "crypto": "bench.crypto_throughput",
}


def main(argv: list[str] | None = None) -> int:
    """Run the named benches (all when none is named)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Sealdrop's speed and memory.",
        epilog="Example: python -m bench crypto",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(BENCHES)}")
    parser.add_argument("--list", action="store_true", help="list the benches and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(BENCHES))
        return 0
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        print(f"Error: unknown bench {', '.join(unknown)}; try --list", file=sys.stderr)
        return 1
    for name in args.names or list(BENCHES):
        print(f"== {name} ==", flush=True)
        importlib.import_module(BENCHES[name]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
