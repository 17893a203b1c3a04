"""The table of recorded figures (bench/results/*.json) in Markdown, for docs/performance.md."""

from __future__ import annotations

import json

from bench.harness import RESULTS_DIR

ORDER = ["crypto", "upload", "slow", "tips", "import", "gpg"]


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def write_table() -> str:
    """Render every result file as one table; also written to bench/results/table.md."""
    files = sorted(
        RESULTS_DIR.glob("*.json"),
        key=lambda p: ORDER.index(p.stem) if p.stem in ORDER else len(ORDER),
    )
    lines = [
        "| bench | figure | value | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        quick = " (quick)" if data.get("quick") else ""
        notes.append(
            f"- `{data['bench']}`{quick}: {data['utc']}, load average at start "
            f"{data['load_start']}, at end {data['load_end']}, {data['seconds']} s"
        )
        for fig in data["figures"]:
            met = "" if fig["met"] is None else ("yes" if fig["met"] else "**no**")
            extra = f" ({fig['notes']})" if fig.get("notes") else ""
            lines.append(
                f"| {data['bench']} | {fig['name']}{extra} | {_number(fig['value'])} "
                f"{fig['unit']} | {fig['baseline']}: {_number(fig['baseline_value'])} | "
                f"{fig['ratio']:.2f}x | {fig['target']} | {met} |"
            )
    table = "\n".join([*lines, "", *notes]) + "\n"
    if files:
        (RESULTS_DIR / "table.md").write_text(table, encoding="utf-8")
    return table
