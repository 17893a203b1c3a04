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
        "unread": "r.tip_id IS NULL",
        "read": "r.tip_id IS NOT NULL",
        "new": "NOT EXISTS (SELECT 1 FROM case_tips c WHERE c.tip_id = t.tip_id)",
        "in-case": "EXISTS (SELECT 1 FROM case_tips c WHERE c.tip_id = t.tip_id)",
        "starred": "t.source_id IN (SELECT source_id FROM source_stars)",
    }.get(wanted.status)
    if status:
        clauses.append(status)
    return clauses, params


def inbox_page(
    vault: Vault, wanted: InboxFilter, cursor: str | None = None, per_page: int = PER_PAGE
) -> InboxPage:
    """One page of tips; rows say language, first words, files and whether the source is
    already in a case."""
    clauses, params = _where(wanted)
    found = _CURSOR.match(cursor or "")
    if found:
        is_read, day, tip = int(found[1]), found[2], int(found[3])
        clauses.append(
            "((r.tip_id IS NOT NULL) > ? OR ((r.tip_id IS NOT NULL) = ? AND"
            " (t.received < ? OR (t.received = ? AND t.tip_id < ?))))"
        )
        params += [is_read, is_read, day, day, tip]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # Only fixed clauses from _where and the cursor are joined in; values are parameters.
    columns = (
        "t.tip_id, t.source_id, t.received, t.language, substr(t.narrative, 1, 400) AS start,"
        " r.tip_id IS NOT NULL AS is_read,"
        " (SELECT count(*) FROM envelopes e"
        "  WHERE e.tip_id = t.tip_id AND e.kind = 'file') AS files,"
        " EXISTS (SELECT 1 FROM case_tips c JOIN tips o ON o.tip_id = c.tip_id"
        "         WHERE o.source_id = t.source_id) AS source_in_case,"
        " t.source_id IN (SELECT source_id FROM source_stars) AS starred"
    )
    order = " ORDER BY is_read, t.received DESC, t.tip_id DESC LIMIT ?"
    sql = f"SELECT {columns} FROM tips t LEFT JOIN tip_reads r ON r.tip_id = t.tip_id{where}{order}"  # noqa: S608
    rows = vault.db.execute(sql, [*params, per_page + 1]).fetchall()
    out = [
        {
            "tip": int(r["tip_id"]),
            "source": r["source_id"],
            "received": r["received"],
            "language": r["language"],
            "first_words": first_words(r["start"]),
            "files": int(r["files"]),
            "read": bool(r["is_read"]),
            "source_in_case": bool(r["source_in_case"]),
            "starred": bool(r["starred"]),
        }
        for r in rows[:per_page]
    ]
    next_cursor = None
    if len(rows) > per_page:
        last = out[-1]
        next_cursor = f"{int(last['read'])}~{last['received']}~{last['tip']}"
    return InboxPage(out, next_cursor)


def languages(vault: Vault) -> list[str]:
    """The languages tips were written in, for the filter."""
    rows = vault.db.execute(
        "SELECT DISTINCT language FROM tips WHERE language IS NOT NULL ORDER BY language"
    )
    return [str(r[0]) for r in rows]
