"""One conversation per source: every tip, follow-up and reply in time order."""

from __future__ import annotations

from typing import Any

from . import flags
from .errors import AdminError
from .tips import get_tip, tip_detail
from .vault import Vault, row_dict


def get_source(vault: Vault, source_id: str) -> dict[str, Any]:
    """A source by its full id, or a clear error."""
    row = vault.db.execute("SELECT * FROM sources WHERE source_id = ?", (source_id,)).fetchone()
    if row is not None:
        return row_dict(row)
    if vault.db.execute("SELECT 1 FROM tips WHERE source_id = ?", (source_id,)).fetchone():
        # Tips from a source whose reply key never arrived: readable, not answerable.
        return {"source_id": source_id, "instance_id": None, "reply_key": None, "first_seen": None}
    raise AdminError(f"there is no source {source_id}.")


def conversation(vault: Vault, source_id: str) -> dict[str, Any]:
    """The source, its tips in full (plaintext; the caller logs the view) and its replies,
    merged in time order (a tip's day, then the order things reached the vault)."""
    source = get_source(vault, source_id)
    tip_ids = [
        int(r[0])
        for r in vault.db.execute(
            "SELECT tip_id FROM tips WHERE source_id = ? ORDER BY received, tip_id", (source_id,)
        )
    ]
    read = flags.read_tips(vault, tip_ids)
    items: list[dict[str, Any]] = []
    for tip_id in tip_ids:
        detail = tip_detail(vault, tip_id)
        detail["read"] = tip_id in read
        items.append({"kind": "tip", "day": detail["received"], "tip": detail})
    for r in vault.db.execute(
        "SELECT reply_id, created, text, exported FROM replies WHERE source_id = ? ORDER BY rowid",
        (source_id,),
    ):
        items.append({"kind": "reply", "day": r["created"], "reply": row_dict(r)})
    items.sort(key=lambda item: item["day"])  # stable: same-day items keep vault order
    cases = sorted({c for item in items if item["kind"] == "tip" for c in item["tip"]["cases"]})
    return {
        "source": source,
        "items": items,
        "tips": tip_ids,
        "cases": cases,
        "starred": flags.is_starred(vault, source_id),
        "can_reply": source["reply_key"] is not None,
    }


def source_of_tip(vault: Vault, tip_id: int) -> str:
    """The source id of a tip."""
    return str(get_tip(vault, tip_id)["source_id"])
