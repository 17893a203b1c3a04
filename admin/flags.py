"""Triage flags kept per staff vault: which tips were read, which sources are starred."""

from __future__ import annotations

from . import custody
from .tips import get_tip
from .vault import Vault


def mark_read(vault: Vault, tip_ids: list[int], read: bool) -> list[int]:
    """Mark tips read (or unread again); returns the tips whose flag changed."""
    changed = []
    for tip_id in tip_ids:
        get_tip(vault, tip_id)
        if read:
            cur = vault.db.execute(
                "INSERT OR IGNORE INTO tip_reads VALUES (?, ?, ?)",
                (tip_id, custody.now(), vault.actor),
            )
        else:
            cur = vault.db.execute("DELETE FROM tip_reads WHERE tip_id = ?", (tip_id,))
        if cur.rowcount:
            changed.append(tip_id)
    if changed:
        action = "mark-read" if read else "mark-unread"
        custody.append(vault.db, vault.actor, action, "tips", tips=changed)
    return changed


def set_star(vault: Vault, source_id: str, starred: bool) -> bool:
    """Star or unstar a source; False if it already was so."""
    if starred:
        cur = vault.db.execute(
            "INSERT OR IGNORE INTO source_stars VALUES (?, ?, ?)",
            (source_id, custody.now(), vault.actor),
        )
    else:
        cur = vault.db.execute("DELETE FROM source_stars WHERE source_id = ?", (source_id,))
    if cur.rowcount:
        custody.append(
            vault.db, vault.actor, "star" if starred else "unstar", f"source:{source_id}"
        )
    return bool(cur.rowcount)


def is_starred(vault: Vault, source_id: str) -> bool:
    """True if the source is starred."""
    row = vault.db.execute("SELECT 1 FROM source_stars WHERE source_id = ?", (source_id,))
    return row.fetchone() is not None


def read_tips(vault: Vault, tip_ids: list[int]) -> set[int]:
    """Which of these tips were read."""
    if not tip_ids:
        return set()
    marks = ",".join("?" * len(tip_ids))
    rows = vault.db.execute(
        f"SELECT tip_id FROM tip_reads WHERE tip_id IN ({marks})",  # noqa: S608 - placeholders only
        tip_ids,
    )
    return {int(r[0]) for r in rows}
