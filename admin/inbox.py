"""The inbox as pages: unread first, newest first, filtered, one page at a time.

Pages are keyset-paginated (the next page starts after the last row shown), so a deep page
costs what the first one does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .tips import first_words
from .vault import Vault

STATUSES = ("all", "unread", "read", "new", "in-case", "starred")
PER_PAGE = 50
_DAY = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_CURSOR = re.compile(r"\A([01])~(\d{4}-\d{2}-\d{2})~(\d{1,18})\Z")


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows; empty strings mean no filter."""

    language: str = ""
    status: str = "all"
    with_files: bool = False
    day: str = ""


@dataclass(frozen=True)
class InboxPage:
    """One page of inbox rows and the cursor of the next page (None on the last)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


def _where(wanted: InboxFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if wanted.language:
        clauses.append("t.language = ?")
        params.append(wanted.language)
    if wanted.day and _DAY.match(wanted.day):
        clauses.append("t.received = ?")
        params.append(wanted.day)
    if wanted.with_files:
        clauses.append(
            "EXISTS (SELECT 1 FROM envelopes e WHERE e.tip_id = t.tip_id AND e.kind = 'file')"
        )
    status = {
        "new": "NOT EXISTS (SELECT 1 FROM case_tips c WHERE c.tip_id = t.tip_id)",
        "in-case": "EXISTS (SELECT 1 FROM case_tips c WHERE c.tip_id = t.tip_id)",
        "starred": "t.source_id IN (SELECT source_id FROM source_stars)",
    }.get(wanted.status)
    if status:
        clauses.append(status)
    return clauses, params


def _walk(
    vault: Vault, wanted: InboxFilter, read: bool, after: tuple[str, int] | None, limit: int
) -> list[int]:
    """Tip ids that are (un)read, newest first, below `after`: one walk down the index on
    (received, tip_id), stopping at `limit` rows."""
    clauses, params = _where(wanted)
    seen = "EXISTS (SELECT 1 FROM tip_reads r WHERE r.tip_id = t.tip_id)"
    clauses.append(seen if read else f"NOT {seen}")
    if after is not None:
        clauses.append("(t.received, t.tip_id) < (?, ?)")  # a row value: one index seek
        params += [after[0], after[1]]
    where = " AND ".join(clauses)
    sql = (
        f"SELECT t.tip_id FROM tips t WHERE {where}"  # noqa: S608 - fixed clauses, values bound
        " ORDER BY t.received DESC, t.tip_id DESC LIMIT ?"
    )
    return [int(r[0]) for r in vault.db.execute(sql, [*params, limit])]


def _row(vault: Vault, tip_id: int, read: bool) -> dict[str, Any]:
    r = vault.db.execute(
        "SELECT t.tip_id, t.source_id, t.received, t.language,"
        " substr(t.narrative, 1, 400) AS start,"
        " (SELECT count(*) FROM envelopes e WHERE e.tip_id = t.tip_id AND e.kind = 'file')"
        "  AS files,"
        " EXISTS (SELECT 1 FROM tips o JOIN case_tips c ON c.tip_id = o.tip_id"
        "         WHERE o.source_id = t.source_id) AS source_in_case,"
        " EXISTS (SELECT 1 FROM source_stars s WHERE s.source_id = t.source_id) AS starred"
        " FROM tips t WHERE t.tip_id = ?",
        (tip_id,),
    ).fetchone()
    return {
        "tip": int(r["tip_id"]),
        "source": r["source_id"],
        "received": r["received"],
        "language": r["language"],
        "first_words": first_words(r["start"]),
        "files": int(r["files"]),
        "read": read,
        "source_in_case": bool(r["source_in_case"]),
        "starred": bool(r["starred"]),
    }


def inbox_page(
    vault: Vault, wanted: InboxFilter, cursor: str | None = None, per_page: int = PER_PAGE
) -> InboxPage:
    """One page of tips, unread ones first, each part newest first; rows say the language,
    first words, files and whether the source is already in a case."""
    found = _CURSOR.match(cursor or "")
    after = (found[2], int(found[3])) if found else None
    after_read = bool(found and found[1] == "1")
    picked: list[tuple[int, bool]] = []
    if wanted.status != "read" and not after_read:
        picked += [(t, False) for t in _walk(vault, wanted, False, after, per_page + 1)]
    if wanted.status != "unread" and len(picked) <= per_page:
        start = after if after_read else None
        picked += [(t, True) for t in _walk(vault, wanted, True, start, per_page + 1 - len(picked))]
    rows = [_row(vault, tip, read) for tip, read in picked[:per_page]]
    next_cursor = None
    if len(picked) > per_page:
        last = rows[-1]
        next_cursor = f"{int(last['read'])}~{last['received']}~{last['tip']}"
    return InboxPage(rows, next_cursor)


def languages(vault: Vault) -> list[str]:
    """The languages tips were written in, for the filter."""
    rows = vault.db.execute(
        "SELECT DISTINCT language FROM tips WHERE language IS NOT NULL ORDER BY language"
    )
    return [str(r[0]) for r in rows]
