"""Replies to sources: sealed to the source's reply key, signed, exported once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nacl.public import PublicKey

from crypto.encoding import b64decode
from crypto.replies import MAX_REPLY_TEXT_BYTES, make_reply, verify_reply, write_reply_bundle

from . import custody
from .errors import AdminError
from .vault import Vault, row_dict

MIN_SOURCE_PREFIX = 6


def find_source(vault: Vault, text: str) -> dict[str, Any]:
    """A source by its id or a unique prefix of at least 6 hex digits."""
    prefix = text.strip().lower()
    if len(prefix) < MIN_SOURCE_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
        raise AdminError(
            f"{text!r} is not a source id. Give at least {MIN_SOURCE_PREFIX} hex digits of "
            "the source id shown by `sealdrop-admin inbox` or `show`."
        )
    # A range on the primary key ("g" sorts after every hex digit): an index seek, where
    # LIKE 'prefix%' (case-insensitive) would scan every source.
    rows = vault.db.execute(
        "SELECT * FROM sources WHERE source_id >= ? AND source_id < ? ORDER BY source_id LIMIT 2",
        (prefix, prefix + "g"),
    ).fetchall()
    if not rows:
        raise AdminError(f"no source starts with {prefix}. Check the id with `inbox --all`.")
    if len(rows) > 1:
        raise AdminError(f"several sources start with {prefix}: give more digits.")
    return row_dict(rows[0])


def make(vault: Vault, source_text: str, text: str) -> dict[str, Any]:
    """Seal and sign a reply; it waits in the vault until export-replies."""
    source = find_source(vault, source_text)
    if not text.strip():
        raise AdminError("the reply is empty: nothing was saved. Write the reply text.")
    if len(text.encode("utf-8")) > MAX_REPLY_TEXT_BYTES:
        raise AdminError(
            f"the reply is longer than {MAX_REPLY_TEXT_BYTES // 1024} KiB. Shorten it."
        )
    statement = make_reply(
        vault.signing_key(),
        source["instance_id"],
        source["source_id"],
        PublicKey(b64decode(source["reply_key"], 32)),
        text,
        custody.today(),
    )
    reply = verify_reply(statement, vault.signing_key().verify_key, source["instance_id"])
    vault.db.execute(
        "INSERT INTO replies VALUES (?, ?, ?, ?, ?, NULL)",
        (reply.reply_id, source["source_id"], reply.created, text, statement),
    )
    custody.append(
        vault.db,
        vault.actor,
        "reply",
        f"source:{source['source_id']}",
        reply_id=reply.reply_id,
        chars=len(text),
    )
    return {"reply": reply.reply_id, "source": source["source_id"], "created": reply.created}


def pending(vault: Vault) -> list[dict[str, Any]]:
    """Replies not yet exported."""
    return [
        row_dict(r)
        for r in vault.db.execute(
            "SELECT reply_id, source_id, created, statement FROM replies"
            " WHERE exported IS NULL ORDER BY rowid"
        )
    ]


def export(vault: Vault, out: Path) -> list[str]:
    """Write every unsent reply to a new reply bundle and mark them sent."""
    todo = pending(vault)
    if not todo:
        return []
    data = write_reply_bundle(bytes(r["statement"]) for r in todo)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AdminError(
            f"{out} already exists: it is never overwritten. Choose a new file."
        ) from exc
    except OSError as exc:
        raise AdminError(f"cannot create {out}: {exc.strerror}. Choose a writable place.") from exc
    try:
        with os.fdopen(fd, "wb") as dst:
            dst.write(data)
            dst.flush()
            os.fsync(dst.fileno())
    except OSError as exc:
        out.unlink(missing_ok=True)
        raise AdminError(f"cannot write {out}: {exc.strerror}. Nothing was marked sent.") from exc
    ids = [r["reply_id"] for r in todo]
    time = custody.now()
    vault.db.executemany(
        "UPDATE replies SET exported = ? WHERE reply_id = ?", [(time, i) for i in ids]
    )
    custody.append(vault.db, vault.actor, "export-replies", "replies", file=out.name, replies=ids)
    return ids
