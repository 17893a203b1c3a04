"""Issue 15: the workspace's server time per page on a large vault: inbox (first page, a
filter, ten pages deep), a source's conversation, a case, the case board, search (3-, 2-
and 1-character Chinese queries) and the custody log.

Run: `python -m bench workspace` (`--quick`: 3,000 tips). The vaults are made and filled
as bench/vault_scale.py does (`sealdrop-admin init`, then the importer, 2 KB Chinese
narratives, 4 tips per source, 1,000 cases of 4 tips). The workspace app is then built
over the unlocked vault exactly as `sealdrop-admin workspace` builds it, and every page is
requested through its WSGI gate in this process (Werkzeug's test client: no socket, so the
figure is the server's own time, commits included; a source page writes its custody
entries). Each page is asked for REPEAT times with different ids; the median is reported.
Baseline: the same page on a 1,000-tip vault in the same run.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import BENCH_PASSPHRASE, BenchResult, Figure, make_instance, quick, workdir
from bench.vault_scale import RARE_2, RARE_3, fill, make_cases
from crypto.envelope import Sealer
from crypto.keys import AdminIdentity

COMMAND = "python -m bench workspace"
REPEAT = 21
HOST = "127.0.0.1:8765"
SECRET = "bench-secret"  # noqa: S105 - the path prefix of a throwaway run
TARGETS = {"inbox": 0.2, "source": 0.2, "case": 0.2, "search": 0.5}


def _pages(vault: Any, size: int) -> dict[str, Callable[[int], str]]:
    """Page name -> a function giving that page's path for the i-th request."""
    rng = random.Random(size)
    sources = [r[0] for r in vault.db.execute("SELECT DISTINCT source_id FROM tips LIMIT 5000")]
    cases = [int(r[0]) for r in vault.db.execute("SELECT case_id FROM cases")]
    picks_s = [rng.choice(sources) for _ in range(REPEAT)]
    picks_c = [rng.choice(cases) for _ in range(REPEAT)]
    return {
        "inbox first page": lambda i: "/",
        "inbox, language filter": lambda i: "/?language=zh-Hans",
        "inbox, 10 pages deep": lambda i: "DEEP",
        "source conversation": lambda i: f"/source/{picks_s[i]}",
        "case page": lambda i: f"/case/{picks_c[i]}",
        "case board": lambda i: "/cases",
        "search 3-char": lambda i: f"/search?q={RARE_3}",
        "search 2-char": lambda i: f"/search?q={RARE_2}",
        "search 1-char": lambda i: "/search?q=喀",
        "custody log": lambda i: "/custody",
    }


def measure(vault_dir: Path, size: int) -> dict[str, float]:
    """Median server seconds of each page on one vault."""
    from admin.vault import open_vault
    from admin.workspace import create_app

    out: dict[str, float] = {}
    with open_vault(vault_dir, BENCH_PASSPHRASE.encode(), "bench") as vault:
        for name in ("recipient", "signing", "vault"):
            vault.key(name)
        app, gate = create_app(vault, SECRET)
        gate.port = int(HOST.split(":")[1])
        client = app.test_client()
        base = f"http://{HOST}"

        def get(path: str) -> str:
            answer = client.get(f"/{SECRET}{path}", base_url=base)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
            return answer.text

        # Ten pages deep: follow the keyset links once, then time the tenth page.
        deep = "/"
        for _ in range(10):
            found = re.search(r'href="/' + SECRET + r'(/\?after=[^"]+)"', get(deep))
            if found is None:
                break
            deep = found.group(1).replace("&amp;", "&")
        for name, path_of in _pages(vault, size).items():
            get(path_of(0).replace("DEEP", deep))  # warm the page cache once
            times = []
            for i in range(REPEAT):
                path = path_of(i).replace("DEEP", deep)
                began = time.perf_counter()
                get(path)
                times.append(time.perf_counter() - began)
            out[name] = statistics.median(times)
            print(f"    {size:>7,} tips  {name:<24} median {out[name] * 1000:7.1f} ms", flush=True)
    return out


def build(tmp: Path, size: int) -> Path:
    """A vault of `size` tips and 1,000 cases, filled through the importer."""
    vault = make_instance(tmp / f"v{size}").vault
    sealer = Sealer(AdminIdentity.from_text((vault / "admin-identity.pub").read_text()).recipients)
    fill(vault, sealer, tmp, size)
    make_cases(vault, size)
    return vault


def run() -> None:
    """Build the baseline and the large vault, time every page on both."""
    result = BenchResult("workspace")
    size = 3_000 if quick() else int(os.environ.get("SEALDROP_BENCH_WORKSPACE_TIPS", "100000"))
    with workdir("workspace") as tmp:
        baseline = measure(build(tmp, 1_000), 1_000)
        large = measure(build(tmp, size), size)
    for name, seconds in large.items():
        kind = name.split()[0].replace("conversation", "")
        limit = TARGETS.get("source" if name.startswith("source") else kind)
        if name == "case page":
            limit = TARGETS["case"]
        result.add(
            Figure(
                name=f"workspace {name} at {size:,} tips (median server time)",
                value=seconds,
                unit="s",
                baseline="the same page at 1,000 tips",
                baseline_value=baseline[name],
                ratio=seconds / baseline[name],
                target=f"<= {limit} s" if limit else "",
                met=(seconds <= limit) if limit else None,
                command=COMMAND,
            )
        )
    result.details = {"tips": size, "repeat": REPEAT}
    result.save()


if __name__ == "__main__":
    sys.exit(run())  # type: ignore[func-returns-value]
