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


def board(vault: Vault) -> dict[str, list[dict[str, Any]]]:
    """Every case under its status, statuses in workflow order."""
    out: dict[str, list[dict[str, Any]]] = {status: [] for status in cases.STATUSES}
    for case in cases.list_cases(vault):
        out[case["status"]].append(case)
    return out


def export_bytes(vault: Vault, case_id: int) -> int:
    """How many content bytes an export of the case copies (for its progress)."""
    row = vault.db.execute(
        "SELECT coalesce(sum(e.size), 0) FROM envelopes e JOIN case_tips c"
        " ON c.tip_id = e.tip_id WHERE c.case_id = ?",
        (case_id,),
    ).fetchone()
    return int(row[0])
