"""Evidence export: a case's report, original files, SHA-256 manifest and custody excerpt.

Everything is written into a hidden staging folder beside the target and renamed into
place only when complete, so a failed export never leaves a half-finished evidence folder.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from . import custody
from .cases import CREDIBILITY, RELIABILITY, case_detail
from .content import copy_out, looks_like_image, read_small, safe_filename
from .errors import AdminError
from .importer import answer_text
from .metadata import image_metadata
from .tips import tip_detail
from .vault import Vault

MAT2_TIMEOUT = 300


def check_target(vault: Vault, out: Path) -> None:
    """Refuse a target that exists, cannot be written, or lies inside the vault."""
    if out.exists() or out.is_symlink():
        raise AdminError(f"{out} already exists: an export never overwrites. Choose a new folder.")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise AdminError(f"the folder {parent} does not exist. Create it or choose another place.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AdminError(f"cannot write in {parent} (permission denied). Choose a writable folder.")
    vault_root = vault.root.resolve()
    if parent.resolve() == vault_root or vault_root in parent.resolve().parents:
        raise AdminError("the export target is inside the vault: plaintext must stay out of it.")


def _clean_with_pillow(src: Path, dst: Path) -> bool:
    """Re-encode an image from its pixels only, so no EXIF/XMP/comments survive."""
    try:
        with Image.open(src) as img:
            fmt = img.format
            img.load()
            clean = Image.frombytes(img.mode, img.size, img.tobytes())
            palette = img.getpalette() if img.mode == "P" else None
        if palette is not None:
            clean.putpalette(palette)
        clean.save(dst, format=fmt)
    except (UnidentifiedImageError, OSError, ValueError, KeyError, Image.DecompressionBombError):
        dst.unlink(missing_ok=True)
        return False
    return True


def cleaned_name(path: Path) -> Path:
    """photo.jpg -> photo.cleaned.jpg (mat2's naming)."""
    return path.with_name(f"{path.stem}.cleaned{path.suffix}")


def clean_copy(path: Path, mat2: str | None) -> str:
    """Make a metadata-stripped copy beside `path`; returns how (or why not)."""
    target = cleaned_name(path)
    if mat2 is not None:
        done = subprocess.run(
            [mat2, "--", str(path)], capture_output=True, timeout=MAT2_TIMEOUT, check=False
        )
        if done.returncode == 0 and target.exists():
            return "cleaned with mat2"
        target.unlink(missing_ok=True)
        return "not cleaned: mat2 does not support this file"
    if _clean_with_pillow(path, target):
        return "cleaned by re-encoding the image with Pillow (no EXIF)"
    return "not cleaned: not an image (mat2 is not installed)"


def _unique(folder: Path, name: str, eid: str) -> Path:
    path = folder / name
    if path.exists():
        path = folder / f"{eid[:8]}-{name}"
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def grade_words(case: dict[str, Any]) -> str:
    """`B2 (usually reliable; probably true)` or `not graded`."""
    if case["grade"] is None:
        return "not graded"
    return (
        f"{case['grade']} (source: {RELIABILITY[case['reliability']]}; "
        f"information: {CREDIBILITY[case['credibility']]})"
    )


def export_case(
    vault: Vault,
    case_id: int,
    out: Path,
    strip: bool,
    advance: Callable[[int], None],
) -> dict[str, Any]:
    """Write the evidence folder; returns a summary for the command to print."""
    case = case_detail(vault, case_id)
    check_target(vault, out)
    mat2 = shutil.which("mat2") if strip else None
    method = (
        "none requested"
        if not strip
        else ("mat2 (" + mat2 + ")" if mat2 else "Pillow re-encode of images (mat2 not installed)")
    )
    staging = out.absolute().parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        staging.mkdir(mode=0o700)
        tips = []
        for tip_id in case["tips"]:
            tip = tip_detail(vault, tip_id)
            folder = staging / "tips" / f"T{tip_id}"
            folder.mkdir(parents=True)
            if tip["message"] is not None:
                copy_out(vault, tip["message"], folder / "narrative.txt")
                advance(tip["message"]["size"])
            for f in tip["files"]:
                name = safe_filename(f["filename"] or "", f"{f['envelope_id']}.bin")
                path = _unique(folder, name, f["envelope_id"])
                copy_out(vault, f, path)
                advance(f["size"])
                f["path"] = path.relative_to(staging).as_posix()
                f["image"] = None
                if looks_like_image(f):
                    data = read_small(vault, f)
                    f["image"] = image_metadata(data) if data is not None else None
                if strip:
                    f["cleaning"] = clean_copy(path, mat2)
                    if cleaned_name(path).exists():
                        f["cleaned_path"] = cleaned_name(path).relative_to(staging).as_posix()
            tips.append(tip)
        objects = [f"case:{case_id}"] + [f"tip:{t}" for t in case["tips"]]
        excerpt = custody.entries_for(vault.db, objects)
        with open(staging / "custody.jsonl", "w", encoding="utf-8") as log:
            for entry in excerpt:
                log.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        (staging / "report.md").write_text(markdown_report(case, tips, method), encoding="utf-8")
        (staging / "report.html").write_text(html_report(case, tips, method), encoding="utf-8")
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        lines = [f"{_sha256(p)}  {p.relative_to(staging).as_posix()}\n" for p in files]
        (staging / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")
        os.rename(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise AdminError(
            f"cannot write the export ({exc.strerror}). Nothing was exported."
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    manifest_hash = _sha256(out / "SHA256SUMS")
    custody.append(
        vault.db,
        vault.actor,
        "export",
        f"case:{case_id}",
        target=str(out),
        tips=case["tips"],
        sha256sums=manifest_hash,
        strip_metadata=strip,
    )
    return {
        "case": case_id,
        "out": str(out),
        "files": len(lines),
        "sha256sums": manifest_hash,
        "metadata_stripping": method,
    }


def _md(text: str) -> str:
    """Source or staff text made inert in Markdown: no raw HTML when the file is rendered."""
    return html.escape(text, quote=False).replace("`", "'")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return _md(text).replace("|", "\\|").replace("\n", " ")


def _answers_md(answers: dict[str, Any]) -> list[str]:
    if not answers:
        return ["_No questionnaire answers._", ""]
    rows = ["| Question | Answer |", "|---|---|"]
    rows += [f"| {_cell(q)} | {_cell(answer_text(a))} |" for q, a in sorted(answers.items())]
    return [*rows, ""]


def _image_words(image: dict[str, Any] | None) -> str:
    if not image:
        return ""
    gps = image.get("gps")
    where = f"GPS {gps['latitude']}, {gps['longitude']}" if gps else "no GPS"
    return (
        f"taken {image.get('date_taken') or 'unknown date'}; {where}; "
        f"camera {image.get('camera') or 'unknown'}"
    )


def markdown_report(case: dict[str, Any], tips: list[dict[str, Any]], method: str) -> str:
    """The report as Markdown."""
    out = [
        f"# Case C{case['case']}: {_md(case['title'])}",
        "",
        f"- Status: {case['status']}"
        + (f" (closed: {case['closing_reason']})" if case["closing_reason"] else ""),
        f"- Grading (Admiralty code): {grade_words(case)}",
        f"- Tags: {_md(', '.join(case['tags'])) or 'none'}",
        f"- Opened: {case['created']}",
        f"- Tips: {', '.join(f'T{t}' for t in case['tips']) or 'none'}",
        f"- Metadata stripping: {method}",
        "",
        "Original files are untouched and listed with their SHA-256 in SHA256SUMS "
        "(check with `sha256sum -c SHA256SUMS`). custody.jsonl is the custody log excerpt.",
        "",
    ]
    for tip in tips:
        out += [
            f"## Tip T{tip['tip']}",
            "",
            f"- Received: {tip['received']}",
            f"- Source: {tip['source']}",
            "",
            "### Narrative",
            "",
            *[f"> {_md(line)}" for line in (tip["narrative"] or "(no narrative)").splitlines()],
            "",
            "### Answers",
            "",
            *_answers_md(tip["answers"]),
            "### Files",
            "",
        ]
        for f in tip["files"]:
            out.append(
                f"- `{_md(f['path'])}` ({_md(f['content_type'] or 'unknown type')}, "
                f"{f['size']} bytes)"
                f" SHA-256 `{f['sha256']}`"
            )
            if f.get("image"):
                out.append(f"  - {_md(_image_words(f['image']))}")
            if "cleaning" in f:
                out.append(
                    f"  - metadata-stripped copy: {f['cleaning']}"
                    + (f" -> `{_md(f['cleaned_path'])}`" if f.get("cleaned_path") else "")
                )
        if not tip["files"]:
            out.append("_No files._")
        out.append("")
    out += ["## Status history", "", "| Time | Who | Status | Reason |", "|---|---|---|---|"]
    out += [
        f"| {h['time']} | {_cell(h['actor'])} | {h['status']} | {h['reason'] or ''} |"
        for h in case["status_history"]
    ]
    out += ["", "## Notes", ""]
    out += [f"- {n['time']} ({_md(n['actor'])}): {_md(n['text'])}" for n in case["notes"]] or [
        "_None._"
    ]
    return "\n".join(out) + "\n"


def html_report(case: dict[str, Any], tips: list[dict[str, Any]], method: str) -> str:
    """The same report as a self-contained HTML page (no scripts, no remote resources)."""
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html><head><meta charset="utf-8">',
        # Tip text is escaped; the policy also stops the page from loading anything at all.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Case C{case['case']}: {e(case['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "td,th{border:1px solid #999;padding:.2em .5em}table{border-collapse:collapse}"
        "blockquote{white-space:pre-wrap}</style></head><body>",
        f"<h1>Case C{case['case']}: {e(case['title'])}</h1><ul>",
        f"<li>Status: {e(case['status'])}"
        + (f" (closed: {e(case['closing_reason'])})" if case["closing_reason"] else "")
        + "</li>",
        f"<li>Grading (Admiralty code): {e(grade_words(case))}</li>",
        f"<li>Tags: {e(', '.join(case['tags']) or 'none')}</li>",
        f"<li>Opened: {e(case['created'])}</li>",
        f"<li>Metadata stripping: {e(method)}</li></ul>",
    ]
    for tip in tips:
        parts += [
            f"<h2>Tip T{tip['tip']}</h2>",
            f"<p>Received {e(tip['received'])}; source <code>{e(tip['source'])}</code></p>",
            f'<h3>Narrative</h3><blockquote dir="auto">{e(tip["narrative"] or "(no narrative)")}'
            "</blockquote><h3>Answers</h3><table><tr><th>Question</th><th>Answer</th></tr>",
        ]
        parts += [
            f'<tr><td>{e(q)}</td><td dir="auto">{e(answer_text(a))}</td></tr>'
            for q, a in sorted(tip["answers"].items())
        ]
        parts.append("</table><h3>Files</h3><ul>")
        for f in tip["files"]:
            extra = f"<br>{e(_image_words(f.get('image')))}" if f.get("image") else ""
            if "cleaning" in f:
                extra += f"<br>metadata-stripped copy: {e(f['cleaning'])}"
            parts.append(
                f"<li><code>{e(f['path'])}</code> ({e(f['content_type'] or 'unknown type')}, "
                f"{f['size']} bytes) SHA-256 <code>{f['sha256']}</code>{extra}</li>"
            )
        parts.append("</ul>")
    parts.append(
        "<h2>Status history</h2><table><tr><th>Time</th><th>Who</th><th>Status</th>"
        "<th>Reason</th></tr>"
    )
    parts += [
        f"<tr><td>{e(h['time'])}</td><td>{e(h['actor'])}</td><td>{e(h['status'])}</td>"
        f"<td>{e(h['reason'] or '')}</td></tr>"
        for h in case["status_history"]
    ]
    parts.append("</table><h2>Notes</h2><ul>")
    parts += [f"<li>{e(n['time'])} ({e(n['actor'])}): {e(n['text'])}</li>" for n in case["notes"]]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"
