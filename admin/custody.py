"""The custody log: an append-only, hash-chained record of everything staff do.

Each entry's hash is SHA-256 over the canonical JSON of (seq, time, actor, action, object,
details, prev), where prev is the previous entry's hash (64 zeros for the first). Editing,
removing or reordering any entry breaks the chain from that entry on.

A chain cannot show by itself that its newest entries were cut off, or that someone holding
the passphrase rewrote it and hashed it again. For that, staff keep the newest entry's mark
("SEQ:HASH", printed by `verify-log`) apart from the vault; checked later, a matching mark
shows that nothing up to that entry changed since, and a missing one shows a cut.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crypto.encoding import canonical_json

GENESIS = "0" * 64
_MARK = re.compile(r"([1-9][0-9]{0,17}):([0-9a-f]{64})")


def now() -> str:
    """A full UTC timestamp (the offline laptop keeps exact times; they never go online)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> str:
    """Today's date, the precision used for anything that goes back to the server."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def entry_hash(
    seq: int, time: str, actor: str, action: str, obj: str, details: str, prev: str
) -> str:
    """The chained hash of one entry."""
    record = {
        "action": action,
        "actor": actor,
        "details": details,
        "object": obj,
        "prev": prev,
        "seq": seq,
        "time": time,
    }
    return hashlib.sha256(canonical_json(record)).hexdigest()


def append(db: sqlite3.Connection, actor: str, action: str, obj: str, **details: Any) -> int:
    """Append one entry after the current last one; returns its sequence number."""
    last = db.execute("SELECT seq, hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    time = now()
    text = json.dumps(details, sort_keys=True, ensure_ascii=False)
    digest = entry_hash(seq, time, actor, action, obj, text, prev)
    db.execute(
        "INSERT INTO custody VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, time, actor, action, obj, text, prev, digest),
    )
    return seq


@dataclass(frozen=True)
class Mark:
    """One entry's place in the chain, written "SEQ:HASH" for staff to keep elsewhere."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Mark:
        """A mark as `verify-log` prints it; ValueError for anything else."""
        found = _MARK.fullmatch(text.strip().lower())
        if found is None:
            raise ValueError("a mark is SEQ:HASH as verify-log prints it, e.g. 8:3fa4…")
        return cls(int(found[1]), found[2])


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of recomputing the chain."""

    entries: int
    first_broken: int | None
    problem: str | None
    newest: Mark | None = None


def find_mark(db: sqlite3.Connection, mark: Mark) -> str | None:
    """Why a mark kept from an earlier `verify-log` no longer fits an intact chain, or None
    when it does (then no entry up to it has changed since it was written down)."""
    row = db.execute("SELECT hash FROM custody WHERE seq = ?", (mark.seq,)).fetchone()
    if row is None:
        return (
            f"entry {mark.seq} of the mark you kept is gone: "
            "the log was cut off after that mark was taken"
        )
    if row[0] != mark.hash:
        return (
            f"entry {mark.seq} no longer has the hash of the mark you kept: "
            f"the log was rewritten at or before entry {mark.seq}"
        )
    return None


def verify(db: sqlite3.Connection) -> ChainCheck:
    """Recompute every hash in order; report the first entry that does not fit."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for row in db.execute("SELECT * FROM custody ORDER BY seq"):
        count += 1
        seq = int(row["seq"])
        if seq != expected_seq:
            return ChainCheck(count, seq, f"entry {expected_seq} is missing")
        if row["prev"] != prev:
            return ChainCheck(count, seq, "its link to the previous entry does not match")
        digest = entry_hash(
            seq, row["time"], row["actor"], row["action"], row["object"], row["details"], prev
        )
        if digest != row["hash"]:
            return ChainCheck(count, seq, "its content was changed after it was written")
        prev = digest
        expected_seq += 1
    newest = Mark(expected_seq - 1, prev) if count else None
    return ChainCheck(count, None, None, newest)


def _as_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {k: (json.loads(row[k]) if k == "details" else row[k]) for k in row.keys()}  # noqa: SIM118


def entries_for(db: sqlite3.Connection, objects: list[str]) -> list[dict[str, Any]]:
    """Entries about any of `objects`, in log order (through the index on object)."""
    marks = ", ".join("?" for _ in objects)
    rows = db.execute(
        f"SELECT * FROM custody WHERE object IN ({marks}) ORDER BY seq",  # noqa: S608 - only ?s
        list(objects),
    )
    return [_as_dict(r) for r in rows]


def entries_page(
    db: sqlite3.Connection, page: int = 1, limit: int = 50, obj: str | None = None
) -> dict[str, Any]:
    """One page of the log counted from the newest (page 1 = the newest `limit` entries),
    in log order; optionally only entries about `obj`.

    The whole log's size is the newest seq (the chain numbers entries 1, 2, 3, ... with no
    gap, which verify-log checks), so no page counts rows; about one object, the count
    walks the index on object.
    """
    where, args = ("WHERE object = ?", [obj]) if obj is not None else ("", [])
    rows = db.execute(
        f"SELECT * FROM custody {where} ORDER BY seq DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed text
        (*args, limit, (page - 1) * limit),
    ).fetchall()
    if obj is None:
        total = int(db.execute("SELECT coalesce(max(seq), 0) FROM custody").fetchone()[0])
    else:
        total = int(
            db.execute("SELECT count(*) FROM custody WHERE object = ?", (obj,)).fetchone()[0]
        )
    entries = [_as_dict(r) for r in reversed(rows)]
    return {
        "entries": entries,
        "page": page,
        "limit": limit,
        "total": total,
        "not_shown": total - len(entries),
    }


def all_entries(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """The whole log, in order."""
    return [_as_dict(r) for r in db.execute("SELECT * FROM custody ORDER BY seq")]
