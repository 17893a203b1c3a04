"""Reading tips out of the vault: the inbox, one tip in full, and full-text search.

The *_page functions are what commands (and the workspace) call: each reads a bounded
number of rows through an index, newest first, whatever the vault holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from . import custody
from .errors import AdminError
from .importer import answer_text
from .vault import Vault, row_dict

FIRST_WORDS_CHARS = 80
TRIGRAM_CHARS = 3
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# A query shorter than a trigram cannot use the index: it is matched with LIKE over at
# most this many of the newest text fields (narrative or one answer) per page, so its cost
# stays bounded whatever the vault holds; the page says where to go on (`before`).
SHORT_QUERY_WINDOW = 20_000


def check_paging(page: int, limit: int) -> None:
    """A clear error for a page or limit out of range."""
    if page < 1:
        raise AdminError(f"--page {page}: pages are numbered from 1.")
    if not 1 <= limit <= MAX_LIMIT:
        raise AdminError(f"--limit {limit}: give a number from 1 to {MAX_LIMIT}.")


def human_size(size: int) -> str:
    """1234567 -> '1.2 MB'."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


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


def inbox_page(
    vault: Vault,
    include_all: bool = False,
    page: int = 1,
    limit: int = DEFAULT_LIMIT,
    before: int | None = None,
) -> dict[str, Any]:
    """One page of tips (new ones: in no case yet), newest (highest tip number) first.

    `before` (a tip number) is the keyset form: the page starts below that tip, at the
    cost of one index seek; `page` skips (page - 1) * limit rows of the same walk.
    The count of what is not shown is one walk over an index of tip numbers.
    """
    check_paging(page, limit)
    where = ["1 = 1"] if include_all else ["tip_id NOT IN (SELECT tip_id FROM case_tips)"]
    args: list[Any] = []
    if before is not None:
        where.append("tip_id < ?")
        args.append(before)
    cond = " AND ".join(where)
    rows = vault.db.execute(
        f"SELECT * FROM tips WHERE {cond} ORDER BY tip_id DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed text
        (*args, limit + 1, (page - 1) * limit),
    ).fetchall()
    more = len(rows) > limit
    tips = [_summary(vault, row_dict(r)) for r in rows[:limit]]
    all_cond = where[0]
    total = int(
        vault.db.execute(f"SELECT count(*) FROM tips WHERE {all_cond}").fetchone()[0]  # noqa: S608 - fixed text
    )
    return {
        "tips": tips,
        "page": page,
        "limit": limit,
        "total": total,
        "not_shown": total - len(tips),
        "next_before": tips[-1]["tip"] if more and tips else None,
    }


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


def _match_rows(vault: Vault, query: str, before: int | None) -> tuple[Iterator[Any], int | None]:
    """Matching text rows, newest first, and (short queries) where the window ended."""
    top = before if before is not None else 1 << 62
    if len(query) >= TRIGRAM_CHARS:
        phrase = '"' + query.replace('"', '""') + '"'
        cur = vault.db.execute(
            "SELECT rowid, tip_id, field, body FROM tip_text"
            " WHERE tip_text MATCH ? AND rowid < ? ORDER BY rowid DESC",
            (phrase, top),
        )
        return iter(cur), None
    # The window: the newest SHORT_QUERY_WINDOW rows below `top`, found by a rowid range.
    floor_row = vault.db.execute(
        "SELECT rowid, tip_id FROM tip_text WHERE rowid < ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (top, SHORT_QUERY_WINDOW - 1),
    ).fetchone()
    floor = 0
    if floor_row is not None:
        # Widen the window to the floor tip's first row (a tip's rows are consecutive),
        # so no tip is split between two pages.
        floor = int(floor_row[0])
        below = vault.db.execute(
            "SELECT rowid, tip_id FROM tip_text WHERE rowid < ? ORDER BY rowid DESC", (floor,)
        )
        for row in below:
            if row["tip_id"] != floor_row["tip_id"]:
                break
            floor = int(row["rowid"])
        below.close()
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    cur = vault.db.execute(
        "SELECT rowid, tip_id, field, body FROM tip_text WHERE rowid < ? AND rowid >= ?"
        " AND body LIKE ? ESCAPE '\\' ORDER BY rowid DESC",
        (top, floor, f"%{escaped}%"),
    )
    return iter(cur), (floor if floor_row is not None else None)


def search_page(
    vault: Vault, query: str, limit: int = DEFAULT_LIMIT, before: int | None = None
) -> dict[str, Any]:
    """Tips whose narrative or answers contain `query`, newest text first, one page.

    Any script, case-insensitive. Queries of 3 or more characters use the trigram index.
    Shorter ones (common in Chinese, e.g. 新疆) cannot: they are matched with LIKE over
    the newest SHORT_QUERY_WINDOW text rows below `before` per page (bounded work), and
    `next_before` continues into older ones. `before` is a text row number from an
    earlier page's next_before. The search and its hits go into the custody log.
    """
    query = query.strip()
    if not query:
        raise AdminError("the search text is empty. Give a word or phrase to look for.")
    check_paging(1, limit)
    rows, window_floor = _match_rows(vault, query, before)
    hits: dict[int, dict[str, Any]] = {}
    next_before: int | None = None
    for r in rows:
        tip = int(r["tip_id"])
        if tip not in hits and len(hits) == limit:
            next_before = int(r["rowid"]) + 1  # this row opens the next page
            break
        hit = hits.setdefault(
            tip, {"tip": tip, "fields": [], "snippet": _snippet(r["body"], query)}
        )
        hit["fields"].insert(0, r["field"])  # a tip's rows come newest first: keep its order
    else:
        next_before = window_floor or None
    found = list(hits.values())
    custody.append(
        vault.db, vault.actor, "search", "vault", query=query, hits=[h["tip"] for h in found]
    )
    return {
        "query": query,
        "hits": found,
        "limit": limit,
        "next_before": next_before,
        "short_query_window": SHORT_QUERY_WINDOW if len(query) < TRIGRAM_CHARS else None,
    }


def search(vault: Vault, query: str) -> list[dict[str, Any]]:
    """The first page of search_page's hits (kept for callers of the list form)."""
    hits: list[dict[str, Any]] = search_page(vault, query, MAX_LIMIT)["hits"]
    return hits
