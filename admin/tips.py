"""Reading tips out of the vault: the inbox, one tip in full, and full-text search."""

from __future__ import annotations

import json
import re
from typing import Any

from . import custody
from .errors import AdminError
from .importer import answer_text
from .vault import Vault, row_dict

FIRST_WORDS_CHARS = 80
TRIGRAM_CHARS = 3


def parse_tip_id(text: str) -> int:
    """Accept `12` or `T12` (as printed by the inbox)."""
    match = re.fullmatch(r"[Tt]?(\d{1,9})", text.strip())
    if match is None:
        raise AdminError(f"{text!r} is not a tip number. Tip numbers look like 12 or T12.")
    return int(match.group(1))


def get_tip(vault: Vault, tip_id: int) -> dict[str, Any]:
    """One tip row, or a clear error."""
    row = vault.db.execute("SELECT * FROM tips WHERE tip_id = ?", (tip_id,)).fetchone()
    if row is None:
        raise AdminError(f"there is no tip T{tip_id}. `sealdrop-admin inbox --all` lists tips.")
    return row_dict(row)


def first_words(text: str | None) -> str:
    """The start of a narrative on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= FIRST_WORDS_CHARS else flat[: FIRST_WORDS_CHARS - 1] + "…"


def answers_summary(answers: dict[str, Any], limit: int = 3) -> str:
    """A few questionnaire answers as `question: answer; ...`."""
    parts = [f"{q}: {answer_text(a)}" for q, a in sorted(answers.items()) if a not in ("", [])]
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _summary(vault: Vault, row: dict[str, Any]) -> dict[str, Any]:
    files = vault.db.execute(
        "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM envelopes"
        " WHERE tip_id = ? AND kind = 'file'",
        (row["tip_id"],),
    ).fetchone()
    size = vault.db.execute(
        "SELECT coalesce(sum(size), 0) FROM envelopes WHERE tip_id = ?", (row["tip_id"],)
    ).fetchone()[0]
    cases = [
        r[0]
        for r in vault.db.execute(
            "SELECT case_id FROM case_tips WHERE tip_id = ? ORDER BY case_id", (row["tip_id"],)
        )
    ]
    answers = json.loads(row["answers"])
    return {
        "tip": row["tip_id"],
        "source": row["source_id"],
        "received": row["received"],
        "size": int(size),
        "files": int(files["n"]),
        "first_words": first_words(row["narrative"]),
        "answers_summary": answers_summary(answers),
        "cases": cases,
    }


def inbox(vault: Vault, include_all: bool) -> list[dict[str, Any]]:
    """Tips (new ones: in no case yet), grouped by source, oldest source first."""
    where = "" if include_all else " WHERE tip_id NOT IN (SELECT tip_id FROM case_tips)"
    rows = vault.db.execute(
        f"SELECT * FROM tips{where} ORDER BY source_id, received, tip_id"  # noqa: S608 - fixed text
    ).fetchall()
    return [_summary(vault, row_dict(r)) for r in rows]


def tip_detail(vault: Vault, tip_id: int) -> dict[str, Any]:
    """Everything about one tip, including plaintext; the caller logs the view."""
    row = get_tip(vault, tip_id)
    files = [
        row_dict(r)
        for r in vault.db.execute(
            "SELECT envelope_id, kind, filename, content_type, size, sha256, received"
            " FROM envelopes WHERE tip_id = ? ORDER BY kind DESC, filename, envelope_id",
            (tip_id,),
        )
    ]
    return {
        "tip": tip_id,
        "source": row["source_id"],
        "instance": row["instance_id"],
        "received": row["received"],
        "language": row["language"],
        "narrative": row["narrative"],
        "answers": json.loads(row["answers"]),
        "files": [f for f in files if f["kind"] == "file"],
        "message": next((f for f in files if f["kind"] == "message"), None),
        "cases": _summary(vault, row)["cases"],
    }


def find_file(vault: Vault, tip_id: int, name: str) -> dict[str, Any]:
    """A tip's attachment by filename or envelope id."""
    get_tip(vault, tip_id)
    rows = [
        row_dict(r)
        for r in vault.db.execute(
            "SELECT * FROM envelopes WHERE tip_id = ? AND kind = 'file'"
            " AND (filename = ? OR envelope_id = ?)",
            (tip_id, name, name),
        )
    ]
    if not rows:
        raise AdminError(
            f"tip T{tip_id} has no file {name!r}. `sealdrop-admin show {tip_id}` lists its files."
        )
    if len(rows) > 1:
        ids = ", ".join(r["envelope_id"] for r in rows)
        raise AdminError(f"tip T{tip_id} has several files named {name!r}: use an id ({ids}).")
    return rows[0]


def _snippet(text: str, query: str, width: int = 30) -> str:
    at = text.lower().find(query.lower())
    if at < 0:
        return first_words(text)
    start = max(0, at - width)
    end = min(len(text), at + len(query) + width)
    flat = " ".join(text[start:end].split())
    return ("…" if start else "") + flat + ("…" if end < len(text) else "")


def search(vault: Vault, query: str) -> list[dict[str, Any]]:
    """Tips whose narrative or answers contain `query` (any script, case-insensitive).

    The trigram index answers queries of 3 or more characters; shorter ones (common in
    Chinese, e.g. 新疆) are matched with LIKE over the same decrypted text.
    """
    query = query.strip()
    if not query:
        raise AdminError("the search text is empty. Give a word or phrase to look for.")
    if len(query) >= TRIGRAM_CHARS:
        phrase = '"' + query.replace('"', '""') + '"'
        rows = vault.db.execute(
            "SELECT tip_id, field, body FROM tip_text WHERE tip_text MATCH ? ORDER BY rank",
            (phrase,),
        ).fetchall()
    else:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = vault.db.execute(
            "SELECT tip_id, field, body FROM tip_text WHERE body LIKE ? ESCAPE '\\'"
            " ORDER BY tip_id",
            (f"%{escaped}%",),
        ).fetchall()
    hits: dict[int, dict[str, Any]] = {}
    for r in rows:
        tip = int(r["tip_id"])
        hit = hits.setdefault(
            tip, {"tip": tip, "fields": [], "snippet": _snippet(r["body"], query)}
        )
        hit["fields"].append(r["field"])
    custody.append(vault.db, vault.actor, "search", "vault", query=query, hits=sorted(hits))
    return [hits[t] for t in sorted(hits)]
