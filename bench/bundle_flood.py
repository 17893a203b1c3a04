"""Issue 14 item 6: bundle floods. Peak memory and time of `sealdrop-admin import` on
bundles a compromised server could send, each imported by the real CLI in a fresh process
(peak RSS from that process's own getrusage):

- one genuine envelope followed by N stray junk entries (24-byte heads of unlisted ids), for
  N = 50,000 and 500,000: memory must not grow with N (strays are counted; the first 100
  are listed and logged);
- the most a manifest may list, 100,000 junk envelopes (64 random bytes each): every one is
  skipped, and each skip is recorded in the custody log;
- 500,000 listed envelopes: refused from the manifest's length field before it is read.

Run: `python -m bench flood` (`--quick`: 5,000 / 50,000 strays and 10,000 listed).
Baseline: the same CLI importing the one genuine envelope alone.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import struct
import subprocess
import sys
import time
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from bench.harness import BenchResult, Figure, cli_env, make_instance, sized, workdir
from crypto.bundle import MAGIC, BundleWriter, Manifest, ManifestEntry
from crypto.encoding import b64encode
from crypto.envelope import Sealer
from crypto.keys import AdminIdentity
from crypto.statements import sign_statement

COMMAND = "python -m bench flood"
# The CLI in a child process, reporting (in KiB, from /proc/self/status) its peak RSS and,
# around import_bundle alone, the RSS when it starts and the peak while it runs (the peak
# is reset first: the passphrase's Argon2id unlock, 256 MiB, would hide the import's own).
_IMPORT = """
import atexit, sys
import admin.commands.importing as cli

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

atexit.register(lambda: print("PEAK", status("VmHWM"), file=sys.stderr))
real = cli.import_bundle

def measured(*args, **kwargs):
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    start = status("VmRSS")
    try:
        return real(*args, **kwargs)
    finally:
        print("IMPORT", start, status("VmHWM"), file=sys.stderr)

cli.import_bundle = measured
from admin.cli import main
main()
"""


def _genuine(identity: AdminIdentity) -> tuple[str, str, bytes, bytes]:
    """(envelope id, source id, reply key, envelope) of one real message."""
    source_id, reply = secrets.token_hex(32), bytes(PrivateKey.generate().public_key)
    meta = {
        "kind": "message",
        "source_id": source_id,
        "reply_public_key": b64encode(reply),
        "received": "2026-12-06",
        "submission_id": secrets.token_hex(16),
        "answers": {},
    }
    data = Sealer(identity.recipients).seal_bytes("他们带走了我的哥哥。".encode(), meta)
    return secrets.token_hex(16), source_id, reply, data


# One server for every bundle: the vault trusts the first instance it sees and refuses others.
INSTANCE_KEY = SigningKey.generate()
INSTANCE_ID = secrets.token_hex(16)


def _manifest(key: SigningKey, listed: list[ManifestEntry], reply: bytes) -> Manifest:
    return Manifest(
        INSTANCE_ID,
        key.verify_key,
        "2026-12-06",
        tuple(listed),
        {listed[0].source_id: reply},
    )


def stray_bundle(path: Path, identity: AdminIdentity, strays: int) -> None:
    """The genuine envelope, then `strays` unlisted zero-size entries."""
    key = INSTANCE_KEY
    eid, sid, reply, data = _genuine(identity)
    entry = ManifestEntry(eid, len(data), sid, hashlib.sha256(data).hexdigest())
    with path.open("wb") as out:
        writer = BundleWriter(out, key, _manifest(key, [entry], reply))
        writer.add(eid, io.BytesIO(data))
        writer.close()
        head = struct.pack(">Q", 0)
        for _ in range(strays // 1000):
            out.write(b"".join(os.urandom(16) + head for _ in range(1000)))


def junk_bundle(path: Path, identity: AdminIdentity, count: int) -> None:
    """`count` listed envelopes of 64 random bytes each (all from one source)."""
    key = INSTANCE_KEY
    _eid, sid, reply, _data = _genuine(identity)
    junk = [(secrets.token_hex(16), os.urandom(64)) for _ in range(count)]
    listed = [ManifestEntry(i, 64, sid, hashlib.sha256(d).hexdigest()) for i, d in junk]
    with path.open("wb") as out:
        writer = BundleWriter(out, key, _manifest(key, listed, reply))
        for envelope_id, data in junk:
            writer.add(envelope_id, io.BytesIO(data))
        writer.close()


def flood_manifest_bundle(path: Path, count: int) -> None:
    """A signed manifest listing `count` envelopes (too many), and nothing after it."""
    key = INSTANCE_KEY
    sid = secrets.token_hex(32)
    body = {
        "created": "2026-12-06",
        "envelopes": [
            {"id": f"{i:032x}", "sha256": "0" * 64, "size": 0, "source_id": sid}
            for i in range(count)
        ],
        "instance_id": INSTANCE_ID,
        "sources": [{"reply_public_key": b64encode(bytes(32)), "source_id": sid}],
    }
    signed = sign_statement(key, "bundle-manifest", body)
    path.write_bytes(MAGIC + struct.pack(">I", len(signed)) + signed)


def run_import(vault: Path, bundle: Path) -> tuple[float, float, float, int]:
    """(seconds, whole-process peak MiB, import's growth over its start MiB, exit code) of
    `sealdrop-admin import` in a new process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, "import", "--vault", str(vault), str(bundle), "--silent"],
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    said = {line.split()[0]: line.split()[1:] for line in done.stderr.splitlines()}
    peak = int(said["PEAK"][0]) / 1024
    growth = 0.0
    if "IMPORT" in said:
        began, top = (int(v) for v in said["IMPORT"])
        growth = (top - began) / 1024
    return seconds, peak, growth, done.returncode


def run() -> None:
    """Memory and time of each flood against importing one envelope."""
    result = BenchResult("flood")
    small, large = sized(50_000, 5_000), sized(500_000, 50_000)
    listed = sized(100_000, 10_000)
    with workdir("flood") as tmp:
        made = make_instance(tmp)
        identity = AdminIdentity.from_text((made.vault / "admin-identity.pub").read_text())
        base = tmp / "one.sdb"
        stray_bundle(base, identity, 0)
        _s, _peak, base_growth, code = run_import(made.vault, base)
        assert code == 0, code
        for strays in (small, large):
            bundle = tmp / f"strays-{strays}.sdb"
            stray_bundle(bundle, identity, strays)
            seconds, _peak, growth, code = run_import(made.vault, bundle)
            assert code == 3, code
            result.add(
                Figure(
                    name=f"import 1 envelope + {strays:,} stray junk entries: memory growth",
                    value=growth,
                    unit="MiB",
                    baseline="importing the 1 envelope alone",
                    baseline_value=base_growth,
                    ratio=growth / max(base_growth, 0.1),
                    target="flat: no growth with the number of strays",
                    command=COMMAND,
                    notes=f"{seconds:.1f} s, {bundle.stat().st_size / 2**20:.0f} MiB bundle",
                )
            )
            bundle.unlink()
        bundle = tmp / "junk.sdb"
        junk_bundle(bundle, identity, listed)
        seconds, _peak, growth, code = run_import(made.vault, bundle)
        assert code == 3, code
        result.add(
            Figure(
                name=f"import {listed:,} listed junk envelopes (all skipped, each logged): "
                "memory growth",
                value=growth,
                unit="MiB",
                baseline="importing 1 envelope",
                baseline_value=base_growth,
                ratio=growth / max(base_growth, 0.1),
                command=COMMAND,
                notes=f"{seconds:.1f} s ({listed / seconds:,.0f} envelopes/s)",
            )
        )
        bundle.unlink()
        flood = tmp / "flood.sdb"
        flood_manifest_bundle(flood, 500_000)  # also in quick mode: it is the case to refuse
        seconds, peak, _growth, code = run_import(made.vault, flood)
        assert code == 1, code
        result.add(
            Figure(
                name="refuse a manifest listing 500,000 envelopes: peak RSS",
                value=peak,
                unit="MiB",
                baseline="seconds to refuse",
                baseline_value=seconds,
                ratio=1.0,
                target="refused from its length field (over 40 MiB) before parsing",
                command=COMMAND,
                notes=f"{flood.stat().st_size / 2**20:.0f} MiB manifest",
            )
        )
    result.details = {"strays": [small, large], "listed": listed}
    result.save()
