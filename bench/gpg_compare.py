"""Item 6: our seal beside `gpg --encrypt` (what SecureDrop uses) on the same 256 MiB.

Run: `python -m bench gpg`. gpg runs with a throwaway GNUPGHOME in a temporary directory
and a key made there with `--quick-gen-key --batch --passphrase ''` (gpg's default
algorithm); it encrypts the file with its default compression, as SecureDrop does, and
again with compression off (`-z 0`). Our side: Sealer.seal of the same file to one
recipient. Both read the file from the page cache and write to /dev/null. The baseline
here is gpg: the ratio says how many times faster our seal is.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from nacl.public import PrivateKey

from bench.harness import BenchResult, Figure, MiB, best_seconds, random_file, sized, workdir
from crypto.envelope import Sealer

COMMAND = "python -m bench gpg"
USER_ID = "Sealdrop bench <bench@example.invalid>"


def gpg_seconds(home: Path, data: Path, compress: bool) -> float:
    """Wall time of one `gpg --encrypt` of `data` to /dev/null."""
    command = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--yes",
        "--trust-model",
        "always",
        "--recipient",
        USER_ID,
        "--output",
        "/dev/null",
    ]
    if not compress:
        command += ["-z", "0"]
    start = time.perf_counter()
    subprocess.run([*command, "--encrypt", str(data)], check=True, capture_output=True)
    return time.perf_counter() - start


def seal_seconds(data: Path) -> float:
    """Wall time of Sealer.seal of `data` to /dev/null."""
    sealer = Sealer([PrivateKey.generate().public_key])
    start = time.perf_counter()
    with data.open("rb") as src, open(os.devnull, "wb") as dst:
        sealer.seal(src, dst, {"kind": "file", "filename": data.name})
    return time.perf_counter() - start


def run() -> None:
    """gpg default, gpg -z 0, and our seal; ratios of ours to gpg's."""
    result = BenchResult("gpg")
    size = sized(256, 64) * MiB
    with workdir("gpg") as tmp:
        home = tmp / "gnupg"
        home.mkdir(mode=0o700)
        subprocess.run(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                USER_ID,
            ],
            check=True,
            capture_output=True,
        )
        data = random_file(tmp / "data.bin", size)
        ours = best_seconds(3, lambda: seal_seconds(data))
        default = min(gpg_seconds(home, data, compress=True) for _ in range(2))
        plain = min(gpg_seconds(home, data, compress=False) for _ in range(2))
        version = subprocess.run(
            ["gpg", "--version"], check=True, capture_output=True, text=True
        ).stdout.splitlines()[0]
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    ours_mbps = size / ours / 1e6
    for label, seconds in (("default compression", default), ("-z 0, compression off", plain)):
        gpg_mbps = size / seconds / 1e6
        result.add(
            Figure(
                name=f"Sealer.seal of {size // MiB} MiB random file to /dev/null",
                value=ours_mbps,
                unit="MB/s",
                baseline=f"gpg --encrypt, {label}",
                baseline_value=gpg_mbps,
                ratio=ours_mbps / gpg_mbps,
                target="faster than gpg (> 1x)" if "default" in label else "",
                met=ours_mbps > gpg_mbps if "default" in label else None,
                command=COMMAND,
            )
        )
    result.details = {"gpg": version, "bytes": size}
    result.save()
