"""Taking content out of the vault, always checked against the SHA-256 recorded at import."""

from __future__ import annotations

import contextlib
import hashlib
import os
import unicodedata
from pathlib import Path
from typing import Any

from crypto.errors import CryptoError

from .errors import AdminError
from .inert import is_hidden
from .vault import Vault

MAX_IN_MEMORY = 64 * 1024 * 1024
# The longest file name Linux file systems (ext4, btrfs, exFAT as UTF-8) accept.
NAME_MAX_BYTES = 255
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".gif")


def safe_filename(name: str, fallback: str) -> str:
    """A file name from a source made safe to create: the last path part only, hidden
    characters (controls, bidi, zero-width) replaced by `_`, no leading dot, and at most
    NAME_MAX_BYTES in UTF-8 with the extension kept. `fallback` when nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = "".join("_" if is_hidden(c) else c for c in name).strip().lstrip(".")
    return _fit(name, NAME_MAX_BYTES) or fallback


def _fit(name: str, limit: int) -> str:
    """`name` cut (at a character boundary) to `limit` UTF-8 bytes, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem and ext.isascii() and ext.isalnum() and len(ext) <= 16):
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = limit - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return cut + suffix if cut else ""


def _damaged(envelope_id: str, why: str) -> AdminError:
    return AdminError(
        f"the stored copy of envelope {envelope_id} is damaged ({why}). Nothing was "
        "written. Restore the vault directory from your backup."
    )


def copy_out(vault: Vault, envelope: dict[str, Any], dst: Path) -> None:
    """Write an envelope's plaintext to a new file `dst`; removed again if anything fails."""
    eid = envelope["envelope_id"]
    try:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AdminError(
            f"{dst} already exists: it is never overwritten. Choose another folder."
        ) from exc
    except OSError as exc:
        raise AdminError(f"cannot create {dst}: {exc.strerror}. Choose a writable folder.") from exc
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, vault.content_reader(eid) as reader:
            while block := reader.read():
                out.write(block)
                digest.update(block)
            reader.finish()
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != envelope["sha256"]:
            raise _damaged(eid, "its SHA-256 differs from the one recorded at import")
    except CryptoError as exc:
        dst.unlink(missing_ok=True)
        raise _damaged(eid, str(exc)) from exc
    except OSError as exc:
        dst.unlink(missing_ok=True)
        raise AdminError(f"cannot write {dst}: {exc.strerror}.") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()
        raise


def read_small(vault: Vault, envelope: dict[str, Any]) -> bytes | None:
    """An envelope's plaintext in memory (None if too large), hash-checked."""
    if envelope["size"] > MAX_IN_MEMORY:
        return None
    eid = envelope["envelope_id"]
    try:
        with vault.content_reader(eid) as reader:
            parts = []
            while block := reader.read():
                parts.append(block)
            reader.finish()
    except CryptoError as exc:
        raise _damaged(eid, str(exc)) from exc
    data = b"".join(parts)
    if hashlib.sha256(data).hexdigest() != envelope["sha256"]:
        raise _damaged(eid, "its SHA-256 differs from the one recorded at import")
    return data


def looks_like_image(envelope: dict[str, Any]) -> bool:
    """Worth asking Pillow about (by content type or extension)."""
    ctype = envelope.get("content_type") or ""
    name = (envelope.get("filename") or "").lower()
    return ctype.startswith("image/") or name.endswith(IMAGE_EXTENSIONS)


def suffix_of(envelope: dict[str, Any]) -> str:
    """The file name's extension (`.jpg`), for tools that go by it; "" if none."""
    name = envelope.get("filename") or ""
    _, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and ext.isascii() and ext.isalnum() and len(ext) <= 10 else ""
