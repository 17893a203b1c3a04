"""Case work beyond admin/cases.py: grading with its rationale, the board, export size."""

from __future__ import annotations

from typing import Any

from . import cases
from .vault import Vault


def grade_with_rationale(vault: Vault, case_id: int, code: str, rationale: str) -> tuple[str, str]:
    """Grade a case and keep why, as a note beside the grade (both in the custody log)."""
    rel, cred = cases.grade(vault, case_id, code)
    if rationale.strip():
        cases.add_note(vault, case_id, f"Grade {rel}{cred}: {rationale.strip()}")
    return rel, cred


BOARD_PER_STATUS = 50


def board(vault: Vault, per_status: int = BOARD_PER_STATUS) -> dict[str, dict[str, Any]]:
    """The newest cases under each status (statuses in workflow order) and each count."""
    out: dict[str, dict[str, Any]] = {}
    for status in cases.STATUSES:
        rows = vault.db.execute(
            "SELECT c.case_id, c.title, c.reliability, c.credibility,"
            " (SELECT count(*) FROM case_tips t WHERE t.case_id = c.case_id) AS tips,"
            " (SELECT group_concat(tag, ', ') FROM case_tags g WHERE g.case_id = c.case_id)"
            "  AS tags"
            " FROM cases c WHERE c.status = ? ORDER BY c.case_id DESC LIMIT ?",
            (status, per_status),
        ).fetchall()
        total = vault.db.execute("SELECT count(*) FROM cases WHERE status = ?", (status,))
        out[status] = {
            "total": int(total.fetchone()[0]),
            "cases": [
                {
                    "case": int(r["case_id"]),
                    "title": r["title"],
                    "grade": f"{r['reliability']}{r['credibility']}" if r["reliability"] else None,
                    "tips": int(r["tips"]),
                    "tags": r["tags"] or "",
                }
                for r in rows
            ],
        }
    return out


def open_cases(vault: Vault, limit: int = 200) -> list[dict[str, Any]]:
    """The newest cases not closed, as choices for "add to case"."""
    rows = vault.db.execute(
        "SELECT case_id, title FROM cases WHERE status != 'closed' ORDER BY case_id DESC LIMIT ?",
        (limit,),
    )
    return [{"case": int(r[0]), "title": r[1]} for r in rows]


def export_bytes(vault: Vault, case_id: int) -> int:
    """How many content bytes an export of the case copies (for its progress)."""
    row = vault.db.execute(
        "SELECT coalesce(sum(e.size), 0) FROM envelopes e JOIN case_tips c"
        " ON c.tip_id = e.tip_id WHERE c.case_id = ?",
        (case_id,),
    ).fetchone()
    return int(row[0])
