"""Item 5: offline import into the vault: envelopes per second for 10,000 small tips, and
MB/s for large files, through the admin importer's own functions.

Run: `python -m bench import`. A vault is made with `sealdrop-admin init` (production
key-file cost); bundles are built with crypto/ directly (what `sealdrop export` writes:
a signed manifest and envelopes sealed to the vault's recipient key, with the metadata the
intake writes). Timed: admin.importer.scan_bundle + import_bundle (which opens each
envelope, checks it, re-seals the content to the vault key, records the tip and the custody
entry, and saves the encrypted database); the passphrase's Argon2id unlock is not timed.
Durability is inside the timed part: small content is made durable with one syncfs(2) on
the vault's filesystem before the database is saved (so it also writes back whatever else
is dirty there, e.g. the bundle this bench has just written), large content with an fsync
per file (admin/vault.py says why). Other benches writing to the same disk at the same
time move these figures by tens of percent: compare runs interleaved, with the load.
Baselines in the same run: raw sealed-box opens per second (each envelope needs one to
unwrap its file key) and raw secretstream pull in MB/s.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey, SealedBox
from nacl.signing import SigningKey

from bench.crypto_throughput import raw_pull, raw_push
from bench.harness import (
    BENCH_PASSPHRASE,
    BenchResult,
    Figure,
    MiB,
    best_seconds,
    make_instance,
    sized,
    workdir,
)
from bench.small_tips import ANSWERS, NARRATIVE
from crypto.bundle import BundleWriter, Manifest, ManifestEntry
from crypto.envelope import Sealer
from crypto.keys import AdminIdentity

COMMAND = "python -m bench import"
TIPS_PER_SOURCE = 4


def _metadata(kind: str, source_id: str, reply_key: bytes, submission: str) -> dict[str, Any]:
    from crypto.encoding import b64encode

    return {
        "kind": kind,
        "source_id": source_id,
        "reply_public_key": b64encode(reply_key),
        "received": datetime.date.today().isoformat(),
        "submission_id": submission,
        "language": "zh-Hans",
    }


def build_bundle(
    path: Path, sealer: Sealer, items: Iterator[tuple[str, dict[str, Any], bytes | Path]]
) -> tuple[int, int]:
    """Seal every item and write one bundle; returns (envelopes, plaintext bytes)."""
    instance_key = SigningKey.generate()
    staged = path.with_suffix(".envelopes")
    spans: list[tuple[str, int, str]] = []
    reply_keys: dict[str, bytes] = {}
    plain = 0
    with staged.open("wb") as out:
        for source_id, meta, content in items:
            reply_keys[source_id] = bytes.fromhex(meta.pop("_reply_hex"))
            start = out.tell()
            if isinstance(content, Path):
                with content.open("rb") as src:
                    plain += sealer.seal(src, out, meta).size
            else:
                plain += len(content)
                sealer.seal(io.BytesIO(content), out, meta)
            spans.append((secrets.token_hex(16), out.tell() - start, source_id))
    entries: list[ManifestEntry] = []
    with staged.open("rb") as src:  # a v2 manifest binds each envelope's SHA-256
        for envelope_id, size, source_id in spans:
            digest = hashlib.sha256()
            left = size
            while left:
                block = src.read(min(left, 1 << 20))
                digest.update(block)
                left -= len(block)
            entries.append(ManifestEntry(envelope_id, size, source_id, digest.hexdigest()))
    manifest = Manifest(
        instance_id=secrets.token_hex(16),
        instance_key=instance_key.verify_key,
        created=datetime.date.today().isoformat(),
        envelopes=tuple(entries),
        reply_keys=reply_keys,
    )
    with path.open("wb") as out, staged.open("rb") as src:
        writer = BundleWriter(out, instance_key, manifest)
        for entry in entries:
            writer.add(entry.envelope_id, src)
        writer.close()
    staged.unlink()
    return len(entries), plain


def small_tips(count: int) -> Iterator[tuple[str, dict[str, Any], bytes | Path]]:
    """Message envelopes: the 2 KB narrative with answers, TIPS_PER_SOURCE per source."""
    message = NARRATIVE.encode()
    for index in range(count):
        if index % TIPS_PER_SOURCE == 0:
            source_id, reply = secrets.token_hex(32), bytes(PrivateKey.generate().public_key)
        meta = _metadata("message", source_id, reply, secrets.token_hex(16))
        meta["answers"] = ANSWERS
        meta["_reply_hex"] = reply.hex()
        yield source_id, meta, message


def large_files(path: Path, count: int) -> Iterator[tuple[str, dict[str, Any], bytes | Path]]:
    """File envelopes of the random file at `path`, one source."""
    source_id, reply = secrets.token_hex(32), bytes(PrivateKey.generate().public_key)
    for index in range(count):
        meta = _metadata("file", source_id, reply, secrets.token_hex(16))
        meta.update(filename=f"video-{index}.mp4", content_type="video/mp4")
        meta["_reply_hex"] = reply.hex()
        yield source_id, meta, path


def import_seconds(vault_dir: Path, bundle: Path) -> tuple[float, Any]:
    """Time scan_bundle + check_instance + import_bundle on an unlocked vault."""
    from admin.importer import check_instance, import_bundle, scan_bundle
    from admin.vault import open_vault

    with open_vault(vault_dir, BENCH_PASSPHRASE.encode(), "bench") as vault:
        vault.recipient_key()
        vault.key("vault")
        start = time.perf_counter()
        manifest = scan_bundle(bundle)
        new = check_instance(vault, manifest, trust_new=True)
        result = import_bundle(vault, bundle, manifest, new, lambda _n: None)
        seconds = time.perf_counter() - start
    if result.skipped or len(result.imported) != len(manifest.envelopes):
        raise RuntimeError(f"import incomplete: {len(result.imported)} imported, {result.skipped}")
    return seconds, result


def sealed_box_opens_per_second() -> float:
    """Raw SealedBox.decrypt of a 32-byte file key (one per envelope), per second."""
    key = PrivateKey.generate()
    stanza = SealedBox(key.public_key).encrypt(os.urandom(32))
    box = SealedBox(key)
    count = sized(20000, 4000)
    seconds = best_seconds(3, lambda: [box.decrypt(stanza) for _ in range(count)])
    return count / seconds


def raw_pull_mbps(size: int) -> float:
    """Raw secretstream pull (64 KiB chunks) in MB/s."""
    data, key = os.urandom(size), os.urandom(32)
    header, chunks = raw_push(data, key)
    return size / best_seconds(3, lambda: raw_pull(header, chunks, key)) / 1e6


def run() -> None:
    """Small-tip and large-file import rates against the raw primitives."""
    result = BenchResult("import")
    tips = sized(10000, 1000)
    files, file_size = sized(2, 2), sized(512, 64) * MiB
    opens_before = sealed_box_opens_per_second()
    pull_before = raw_pull_mbps(sized(256, 64) * MiB)
    with workdir("import") as tmp:
        made = make_instance(tmp)
        identity = AdminIdentity.from_text((made.vault / "admin-identity.pub").read_text())
        sealer = Sealer(identity.recipients)
        small_bundle = tmp / "small.sdb"
        count, _plain = build_bundle(small_bundle, sealer, small_tips(tips))
        small_seconds, _res = import_seconds(made.vault, small_bundle)
        small_bundle.unlink()
        video = tmp / "video.bin"
        with video.open("wb") as out:
            for _ in range(file_size // MiB):
                out.write(os.urandom(MiB))
        large_bundle = tmp / "large.sdb"
        _n, large_plain = build_bundle(large_bundle, sealer, large_files(video, files))
        video.unlink()
        large_seconds, _res = import_seconds(made.vault, large_bundle)
    # The baselines bracket the imports: the load changes by the minute.
    opens = (opens_before + sealed_box_opens_per_second()) / 2
    pull = (pull_before + raw_pull_mbps(sized(256, 64) * MiB)) / 2
    rate = count / small_seconds
    result.add(
        Figure(
            name=f"import {count:,} small tips (2 KB + answers each)",
            value=rate,
            unit="envelopes/s",
            baseline="raw sealed-box opens",
            baseline_value=opens,
            ratio=rate / opens,
            command=COMMAND,
            notes=f"{small_seconds:.1f} s",
        )
    )
    speed = large_plain / large_seconds / 1e6
    result.add(
        Figure(
            name=f"import {files} files of {file_size // MiB} MiB",
            value=speed,
            unit="MB/s",
            baseline="raw secretstream pull",
            baseline_value=pull,
            ratio=speed / pull,
            command=COMMAND,
            notes=f"{large_seconds:.1f} s",
        )
    )
    result.details = {"tips": count, "files": files, "file_bytes": file_size}
    result.save()
