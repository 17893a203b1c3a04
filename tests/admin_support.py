"""Helpers for the sealdrop-admin tests: a stand-in instance that seals real envelopes
with crypto/ and writes real bundles, a vault made by `init`, and a vault fingerprint."""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey

from admin.cli import main
from crypto.bundle import BundleWriter, Manifest, ManifestEntry
from crypto.encoding import b64encode
from crypto.envelope import Sealer
from crypto.keys import AdminIdentity

PASSPHRASE = "correct horse battery staple"


@dataclass
class Source:
    """A source as the server knows it: id and reply keypair."""

    source_id: str = field(default_factory=lambda: secrets.token_hex(32))
    reply_key: PrivateKey = field(default_factory=PrivateKey.generate)


@dataclass
class SealedEnvelope:
    """One envelope as the server stores it."""

    envelope_id: str
    source_id: str
    data: bytes


class FakeInstance:
    """The server side of the contract, built from crypto/ only (no intake code)."""

    def __init__(self, identity: AdminIdentity) -> None:
        self.identity = identity
        self.signing_key = SigningKey.generate()
        self.instance_id = secrets.token_hex(16)
        self.sources: dict[str, PublicKey] = {}

    def submit(
        self,
        source: Source,
        narrative: str | None,
        answers: dict[str, Any] | None = None,
        files: Sequence[tuple[str, str, bytes]] = (),
        received: str = "2024-05-01",
        language: str = "zh_Hans_CN",
    ) -> list[SealedEnvelope]:
        """Seal a message envelope and one envelope per file, as the intake does."""
        self.sources[source.source_id] = source.reply_key.public_key
        sealer = Sealer(list(self.identity.recipients))
        submission = secrets.token_hex(16)
        common = {
            "source_id": source.source_id,
            "reply_public_key": b64encode(bytes(source.reply_key.public_key)),
            "received": received,
            "submission_id": submission,
            "language": language,
        }
        out = []
        if narrative is not None:
            meta = {**common, "kind": "message", "answers": answers or {}}
            data = sealer.seal_bytes(narrative.encode("utf-8"), meta)
            out.append(SealedEnvelope(secrets.token_hex(16), source.source_id, data))
        for name, ctype, content in files:
            meta = {**common, "kind": "file", "filename": name, "content_type": ctype}
            data = sealer.seal_bytes(content, meta)
            out.append(SealedEnvelope(secrets.token_hex(16), source.source_id, data))
        return out

    def bundle(
        self, path: Path, envelopes: Sequence[SealedEnvelope], created: str = "2024-05-02"
    ) -> Path:
        """Write an export bundle of these envelopes."""
        entries = tuple(
            ManifestEntry(
                e.envelope_id, len(e.data), e.source_id, hashlib.sha256(e.data).hexdigest()
            )
            for e in envelopes
        )
        used = {e.source_id for e in envelopes}
        reply_keys = {sid: bytes(k) for sid, k in self.sources.items() if sid in used}
        manifest = Manifest(
            self.instance_id, self.signing_key.verify_key, created, entries, reply_keys
        )
        buf = io.BytesIO()
        writer = BundleWriter(buf, self.signing_key, manifest)
        for e in envelopes:
            writer.add(e.envelope_id, io.BytesIO(e.data))
        writer.close()
        path.write_bytes(buf.getvalue())
        return path


class AdminRunner:
    """Runs sealdrop-admin in-process against one vault."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.runner = CliRunner()

    def env(self, passphrase: str = PASSPHRASE) -> dict[str, str]:
        """The environment every command gets."""
        return {"SEALDROP_VAULT": str(self.vault), "SEALDROP_ADMIN_PASSPHRASE": passphrase}

    def __call__(
        self, *args: str, passphrase: str = PASSPHRASE, input: str | None = None
    ) -> Result:
        return self.runner.invoke(
            main,
            [*args, "--actor", "tester"] if _takes_actor(args) else list(args),
            env=self.env(passphrase),
            input=input,
            catch_exceptions=False,
        )

    def identity(self) -> AdminIdentity:
        """The admin identity init wrote."""
        return AdminIdentity.from_text((self.vault / "admin-identity.pub").read_text())


def _takes_actor(args: Sequence[str]) -> bool:
    return bool(args) and args[0] != "init" and "-h" not in args and "--help" not in args


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root and its SHA-256: for 'nothing changed' checks."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def make_jpeg_with_exif() -> bytes:
    """A small JPEG with camera, DateTimeOriginal and GPS position in its EXIF."""
    from PIL import Image

    img = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Huawei"
    exif[0x0110] = "P30 Pro"
    exif.get_ifd(0x8769)[0x9003] = "2024:03:14 09:26:53"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 28.0, 12.0)
    gps[3] = "E"
    gps[4] = (75.0, 59.0, 24.0)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def make_vault(tmp_path: Path) -> AdminRunner:
    """A fresh vault created by `sealdrop-admin init` (call with the admin_kdf fixture active)."""
    admin = AdminRunner(tmp_path / "vault")
    result = admin("init", "--vault", str(admin.vault))
    assert result.exit_code == 0, result.output
    return admin


def submit_and_bundle(
    admin: AdminRunner, tmp_path: Path, name: str = "bundle.sdb", **tip: Any
) -> tuple[FakeInstance, Source, list[SealedEnvelope], Path]:
    """One instance, one source, one submission, one bundle."""
    instance = FakeInstance(admin.identity())
    source = Source()
    envelopes = instance.submit(source, **tip)
    return instance, source, envelopes, instance.bundle(tmp_path / name, envelopes)
