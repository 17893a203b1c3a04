"""Cases: tips grouped for verification, with status history, grading, notes and tags."""

from __future__ import annotations

import re
from typing import Any

from . import custody
from .errors import AdminError
from .tips import get_tip
from .vault import Vault, row_dict

STATUSES = (
    "new",
    "triaged",
    "verifying",
    "corroborated",
    "actioned",
    "closed",
    "on hold - source safety",
)
CLOSING_REASONS = ("duplicate", "out of scope", "insufficient", "not credible")
RELIABILITY = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY = {
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}


def parse_case_id(text: str) -> int:
    """Accept `3` or `C3`."""
    match = re.fullmatch(r"[Cc]?(\d{1,9})", text.strip())
    if match is None:
        raise AdminError(f"{text!r} is not a case number. Case numbers look like 3 or C3.")
    return int(match.group(1))


def get_case(vault: Vault, case_id: int) -> dict[str, Any]:
    """One case row, or a clear error."""
    row = vault.db.execute("SELECT * FROM cases WHERE case_id = ?", (case_id,)).fetchone()
    if row is None:
        raise AdminError(f"there is no case C{case_id}. `sealdrop-admin case list` lists cases.")
    return row_dict(row)


def new_case(vault: Vault, title: str) -> int:
    """Open a case in status `new`."""
    title = title.strip()
    if not title:
        raise AdminError('a case needs a title, e.g. "Detentions in Kashgar, 2024".')
    time = custody.now()
    cur = vault.db.execute(
        "INSERT INTO cases (title, created, status) VALUES (?, ?, 'new')", (title, time)
    )
    assert cur.lastrowid is not None
    case_id = cur.lastrowid
    vault.db.execute(
        "INSERT INTO case_status_history VALUES (?, ?, ?, 'new', NULL)",
        (case_id, time, vault.actor),
    )
    custody.append(vault.db, vault.actor, "case-new", f"case:{case_id}", title=title)
    return case_id


def add_tip(vault: Vault, case_id: int, tip_id: int) -> bool:
    """Put a tip in a case; False if it was already there."""
    get_case(vault, case_id)
    get_tip(vault, tip_id)
    cur = vault.db.execute(
        "INSERT OR IGNORE INTO case_tips VALUES (?, ?, ?)", (case_id, tip_id, custody.now())
    )
    if cur.rowcount:
        custody.append(vault.db, vault.actor, "case-add", f"case:{case_id}", tip=tip_id)
    return bool(cur.rowcount)


def remove_tip(vault: Vault, case_id: int, tip_id: int) -> None:
    """Take a tip out of a case (the tip itself is never deleted)."""
    get_case(vault, case_id)
    get_tip(vault, tip_id)
    cur = vault.db.execute(
        "DELETE FROM case_tips WHERE case_id = ? AND tip_id = ?", (case_id, tip_id)
    )
    if not cur.rowcount:
        raise AdminError(f"tip T{tip_id} is not in case C{case_id}: nothing to remove.")
    custody.append(vault.db, vault.actor, "case-remove", f"case:{case_id}", tip=tip_id)


def set_status(vault: Vault, case_id: int, status: str, reason: str | None) -> None:
    """Change a case's status; closing needs one of the closing reasons."""
    case = get_case(vault, case_id)
    if status not in STATUSES:
        raise AdminError(f"unknown status {status!r}. Use one of: {', '.join(STATUSES)}.")
    if status == "closed" and reason not in CLOSING_REASONS:
        raise AdminError(
            "closing a case needs --reason, one of: " + ", ".join(CLOSING_REASONS) + "."
        )
    if status != "closed" and reason is not None:
        raise AdminError("--reason is only for closing a case (status closed).")
    if case["status"] == status:
        raise AdminError(f"case C{case_id} is already {status!r}: nothing changed.")
    time = custody.now()
    vault.db.execute(
        "UPDATE cases SET status = ?, closing_reason = ? WHERE case_id = ?",
        (status, reason, case_id),
    )
    vault.db.execute(
        "INSERT INTO case_status_history VALUES (?, ?, ?, ?, ?)",
        (case_id, time, vault.actor, status, reason),
    )
    custody.append(
        vault.db,
        vault.actor,
        "status",
        f"case:{case_id}",
        old=case["status"],
        new=status,
        reason=reason,
    )


def grade(vault: Vault, case_id: int, code: str) -> tuple[str, str]:
    """Set the Admiralty grade, e.g. `B2` (source reliability A-F, credibility 1-6)."""
    get_case(vault, case_id)
    code = code.strip().upper()
    if len(code) != 2 or code[0] not in RELIABILITY or code[1] not in CREDIBILITY:
        raise AdminError(
            f"{code!r} is not an Admiralty grade. Give a letter A-F (source reliability) and a "
            "digit 1-6 (information credibility), e.g. B2."
        )
    vault.db.execute(
        "UPDATE cases SET reliability = ?, credibility = ? WHERE case_id = ?",
        (code[0], code[1], case_id),
    )
    custody.append(vault.db, vault.actor, "grade", f"case:{case_id}", grade=code)
    return code[0], code[1]


def add_note(vault: Vault, case_id: int, text: str) -> None:
    """Append a note to a case."""
    get_case(vault, case_id)
    if not text.strip():
        raise AdminError("the note is empty. Give the note text with --text.")
    vault.db.execute(
        "INSERT INTO case_notes VALUES (?, ?, ?, ?)", (case_id, custody.now(), vault.actor, text)
    )
    custody.append(vault.db, vault.actor, "note", f"case:{case_id}", text=text)


def tag(vault: Vault, case_id: int, add: list[str], remove: list[str]) -> list[str]:
    """Add and remove tags; returns the case's tags."""
    get_case(vault, case_id)
    for name in add:
        if not name.strip():
            raise AdminError("a tag cannot be empty.")
        vault.db.execute("INSERT OR IGNORE INTO case_tags VALUES (?, ?)", (case_id, name.strip()))
    for name in remove:
        vault.db.execute("DELETE FROM case_tags WHERE case_id = ? AND tag = ?", (case_id, name))
    if add or remove:
        custody.append(vault.db, vault.actor, "tag", f"case:{case_id}", add=add, remove=remove)
    return tags_of(vault, case_id)


def tags_of(vault: Vault, case_id: int) -> list[str]:
    """A case's tags, sorted."""
    return [
        r[0]
        for r in vault.db.execute(
            "SELECT tag FROM case_tags WHERE case_id = ? ORDER BY tag", (case_id,)
        )
    ]


def grade_text(case: dict[str, Any]) -> str | None:
    """`B2` or None."""
    if case["reliability"] is None:
        return None
    return f"{case['reliability']}{case['credibility']}"


def _case_summary(vault: Vault, case: dict[str, Any]) -> dict[str, Any]:
    tips = vault.db.execute(
        "SELECT count(*) FROM case_tips WHERE case_id = ?", (case["case_id"],)
    ).fetchone()[0]
    return {
        "case": case["case_id"],
        "title": case["title"],
        "status": case["status"],
        "closing_reason": case["closing_reason"],
        "grade": grade_text(case),
        "tips": int(tips),
        "tags": tags_of(vault, case["case_id"]),
        "created": case["created"],
    }


def list_cases(vault: Vault) -> list[dict[str, Any]]:
    """Every case with its tip count and grade (the whole list: commands use cases_page)."""
    rows = vault.db.execute("SELECT * FROM cases ORDER BY case_id").fetchall()
    return [_case_summary(vault, row_dict(r)) for r in rows]


def cases_page(vault: Vault, page: int = 1, limit: int = 50) -> dict[str, Any]:
    """One page of cases, newest (highest case number) first, and how many are not shown."""
    rows = vault.db.execute(
        "SELECT * FROM cases ORDER BY case_id DESC LIMIT ? OFFSET ?", (limit, (page - 1) * limit)
    ).fetchall()
    cases = [_case_summary(vault, row_dict(r)) for r in rows]
    total = int(vault.db.execute("SELECT count(*) FROM cases").fetchone()[0])
    return {
        "cases": cases,
        "page": page,
        "limit": limit,
        "total": total,
        "not_shown": total - len(cases),
    }


def case_detail(vault: Vault, case_id: int) -> dict[str, Any]:
    """A case with its tips, history, notes and tags."""
    case = get_case(vault, case_id)
    db = vault.db
    return {
        "case": case_id,
        "title": case["title"],
        "created": case["created"],
        "status": case["status"],
        "closing_reason": case["closing_reason"],
        "grade": grade_text(case),
        "reliability": case["reliability"],
        "credibility": case["credibility"],
        "tags": tags_of(vault, case_id),
        "tips": [
            r[0]
            for r in db.execute(
                "SELECT tip_id FROM case_tips WHERE case_id = ? ORDER BY tip_id", (case_id,)
            )
        ],
        "status_history": [
            row_dict(r)
            for r in db.execute(
                "SELECT time, actor, status, reason FROM case_status_history"
                " WHERE case_id = ? ORDER BY rowid",
                (case_id,),
            )
        ],
        "notes": [
            row_dict(r)
            for r in db.execute(
                "SELECT time, actor, text FROM case_notes WHERE case_id = ? ORDER BY rowid",
                (case_id,),
            )
        ],
    }
