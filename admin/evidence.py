"""Evidence export: a case's report, original files, SHA-256 manifest and custody excerpt.

Everything is written into a hidden staging folder beside the target and renamed into
place only when complete, so a failed export never leaves a half-finished evidence folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import custody
from .cases import CREDIBILITY, RELIABILITY, case_detail
from .content import copy_out, looks_like_image, safe_filename, suffix_of
from .errors import AdminError
from .importer import answer_text
from .inert import html as h
from .inert import markdown, markdown_quote
from .metadata import image_metadata
from .sandbox import Limits, SandboxError, SandboxUnavailable, run_job
from .tips import tip_detail
from .vault import Vault

# mat2 on a large video or PDF takes a while; still bounded.
CLEANING_LIMITS = Limits(
    memory_bytes=2 * 1024 * 1024 * 1024,
    cpu_seconds=300,
    wall_seconds=600,
    output_bytes=1024 * 1024 * 1024,
)


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


def cleaning_job(strip: bool) -> tuple[str | None, str]:
    """(sandbox job, words for the report) for --strip-metadata; fails if no sandbox."""
    if not strip:
        return None, "none requested"
    try:
        run_job("ping", b"", "")
    except SandboxUnavailable as exc:
        raise AdminError(
            f"--strip-metadata needs the sandbox: {exc.reason} Nothing was exported."
        ) from exc
    except SandboxError as exc:
        raise AdminError(f"the sandbox does not work: {exc.reason}. Nothing was exported.") from exc
    if shutil.which("mat2"):
        return "clean-mat2", "mat2, in the sandbox"
    return "clean-pillow", "Pillow re-encode of images, in the sandbox (mat2 not installed)"


def _write_new(path: Path, data: bytes) -> str:
    """Write a file that must not exist yet; its SHA-256."""
    with open(path, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return hashlib.sha256(data).hexdigest()


def clean_copy(original: Path, target: Path, job: str, image: bool) -> tuple[str, str | None]:
    """Write a metadata-stripped copy of `original` to `target`, made in the sandbox from
    a read-only descriptor: (what happened, SHA-256 of the copy or None)."""
    if job == "clean-pillow" and not image:
        return "not cleaned: not an image (mat2 is not installed)", None
    try:
        with open(original, "rb") as src:
            data = run_job(job, src, suffix_of({"filename": original.name}), CLEANING_LIMITS)
    except SandboxError as exc:
        return f"not cleaned: {exc.reason}", None
    target.parent.mkdir(parents=True, exist_ok=True)
    how = "cleaned with mat2" if job == "clean-mat2" else "cleaned by re-encoding with Pillow"
    return how, _write_new(target, data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _verify_originals(staging: Path, originals: dict[str, str]) -> None:
    """Read every original back from the disk: it must still hash as recorded at intake."""
    for rel, expected in originals.items():
        if _sha256(staging / rel) != expected:
            raise AdminError(
                f"{rel} no longer matches the SHA-256 recorded at intake after it was "
                "written (a failing disk or another program changed it). Nothing was exported."
            )


def grade_words(case: dict[str, Any]) -> str:
    """`B2 (usually reliable; probably true)` or `not graded`."""
    if case["grade"] is None:
        return "not graded"
    return (
        f"{case['grade']} (source: {RELIABILITY[case['reliability']]}; "
        f"information: {CREDIBILITY[case['credibility']]})"
    )


def _tip_files(vault: Vault, tip: dict[str, Any], staging: Path, job: str | None) -> dict[str, str]:
    """Write one tip's originals (and cleaned copies); returns {path: intake SHA-256}."""
    originals: dict[str, str] = {}
    folder = Path("originals") / f"T{tip['tip']}"
    (staging / folder).mkdir(parents=True)
    if tip["message"] is not None:
        copy_out(vault, tip["message"], staging / folder / "narrative.txt")
        originals[(folder / "narrative.txt").as_posix()] = tip["message"]["sha256"]
    # One folder per file: a source's name can never meet another file's or ours.
    for number, f in enumerate(tip["files"], start=1):
        name = safe_filename(f["filename"] or "", "file.bin")
        rel = folder / f"F{number}" / name
        (staging / rel.parent).mkdir()
        copy_out(vault, f, staging / rel)
        originals[rel.as_posix()] = f["sha256"]
        f["path"] = rel.as_posix()
        f["image"], f["metadata_problem"] = None, ""
        if looks_like_image(f):
            with open(staging / rel, "rb") as src:
                f["image"], f["metadata_problem"] = image_metadata(src, suffix_of(f))
        if job is not None:
            cleaned = Path("cleaned") / rel.relative_to("originals")
            f["cleaning"], digest = clean_copy(
                staging / rel, staging / cleaned, job, looks_like_image(f)
            )
            if digest is not None:
                f["cleaned_path"], f["cleaned_sha256"] = cleaned.as_posix(), digest
    return originals


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
    job, method = cleaning_job(strip)
    staging = out.absolute().parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        staging.mkdir(mode=0o700)
        tips, originals = [], {}
        for tip_id in case["tips"]:
            tip = tip_detail(vault, tip_id)
            originals.update(_tip_files(vault, tip, staging, job))
            advance(sum(f["size"] for f in tip["files"]) + (tip["message"] or {"size": 0})["size"])
            tips.append(tip)
        made: dict[str, str] = {
            f["cleaned_path"]: f["cleaned_sha256"]
            for tip in tips
            for f in tip["files"]
            if f.get("cleaned_path")
        }
        objects = [f"case:{case_id}"] + [f"tip:{t}" for t in case["tips"]]
        excerpt = "".join(
            json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
            for entry in custody.entries_for(vault.db, objects)
        )
        for name, text in (
            ("custody.jsonl", excerpt),
            ("report.md", markdown_report(case, tips, method)),
            ("report.html", html_report(case, tips, method)),
        ):
            made[name] = _write_new(staging / name, text.encode("utf-8"))
        _verify_originals(staging, originals)
        # Originals with the SHA-256 recorded at intake; our own files with what we wrote.
        lines = [f"{digest}  {rel}\n" for rel, digest in sorted({**originals, **made}.items())]
        sums = _write_new(staging / "SHA256SUMS", "".join(lines).encode("utf-8"))
        os.rename(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise AdminError(
            f"cannot write the export ({exc.strerror}). Nothing was exported."
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    custody.append(
        vault.db,
        vault.actor,
        "export",
        f"case:{case_id}",
        target=str(out),
        tips=case["tips"],
        sha256sums=sums,
        strip_metadata=strip,
    )
    not_cleaned = [
        f["path"] for tip in tips for f in tip["files"] if strip and not f.get("cleaned_path")
    ]
    return {
        "case": case_id,
        "out": str(out),
        "files": len(lines),
        "sha256sums": sums,
        "metadata_stripping": method,
        "not_cleaned": not_cleaned,
    }


def _answers_md(answers: dict[str, Any]) -> list[str]:
    if not answers:
        return ["_No questionnaire answers._", ""]
    rows = ["| Question | Answer |", "|---|---|"]
    rows += [f"| {markdown(q)} | {markdown(answer_text(a))} |" for q, a in sorted(answers.items())]
    return [*rows, ""]


def _image_words(f: dict[str, Any]) -> str:
    image = f.get("image")
    if not image:
        problem = f.get("metadata_problem")
        return f"photo metadata not read: {problem}" if problem else ""
    gps = image.get("gps")
    where = f"GPS {gps['latitude']}, {gps['longitude']}" if gps else "no GPS"
    return (
        f"taken {image.get('date_taken') or 'unknown date'}; {where}; "
        f"camera {image.get('camera') or 'unknown'}"
    )


def _file_md(f: dict[str, Any]) -> list[str]:
    out = [
        f"- {markdown(f['path'])} ({markdown(f['content_type'] or 'unknown type')}, "
        f"{f['size']} bytes), SHA-256 at intake {markdown(f['sha256'])}"
    ]
    if _image_words(f):
        out.append(f"  - {markdown(_image_words(f))}")
    if "cleaning" in f:
        target = f" \\-\\> {markdown(f['cleaned_path'])}" if f.get("cleaned_path") else ""
        out.append(f"  - metadata\\-stripped copy: {markdown(f['cleaning'])}{target}")
    return out


def markdown_report(case: dict[str, Any], tips: list[dict[str, Any]], method: str) -> str:
    """The report as Markdown; every value is escaped, so a viewer renders it as text."""
    m = markdown
    closed = f" (closed: {case['closing_reason']})" if case["closing_reason"] else ""
    out = [
        f"# Case C{case['case']}: {m(case['title'])}",
        "",
        f"- Status: {m(case['status'] + closed)}",
        f"- Grading (Admiralty code): {m(grade_words(case))}",
        f"- Tags: {m(', '.join(case['tags']) or 'none')}",
        f"- Opened: {m(case['created'])}",
        f"- Tips: {m(', '.join(f'T{t}' for t in case['tips']) or 'none')}",
        f"- Metadata stripping: {m(method)}",
        "",
        "Original files are in originals/, exactly as received, and listed in SHA256SUMS "
        "with the SHA\\-256 recorded at intake (check with: sha256sum \\-c SHA256SUMS). "
        "Metadata\\-stripped copies, if any, are in cleaned/. custody.jsonl is the custody "
        "log excerpt.",
        "",
    ]
    for tip in tips:
        out += [
            f"## Tip T{tip['tip']}",
            "",
            f"- Received: {m(tip['received'])}",
            f"- Source: {m(tip['source'])}",
            "",
            "### Narrative",
            "",
            *markdown_quote(tip["narrative"] or "(no narrative)"),
            "",
            "### Answers",
            "",
            *_answers_md(tip["answers"]),
            "### Files",
            "",
        ]
        for f in tip["files"]:
            out += _file_md(f)
        if not tip["files"]:
            out.append("_No files._")
        out.append("")
    out += ["## Status history", "", "| Time | Who | Status | Reason |", "|---|---|---|---|"]
    out += [
        f"| {m(x['time'])} | {m(x['actor'])} | {m(x['status'])} | {m(x['reason'] or '')} |"
        for x in case["status_history"]
    ]
    out += ["", "## Notes", ""]
    out += [f"- {m(n['time'])} ({m(n['actor'])}): {m(n['text'])}" for n in case["notes"]] or [
        "_None._"
    ]
    return "\n".join(out) + "\n"


def html_report(case: dict[str, Any], tips: list[dict[str, Any]], method: str) -> str:
    """The same report as a self-contained HTML page (no scripts, no remote resources)."""
    parts = [
        "<!doctype html>",
        '<html><head><meta charset="utf-8">',
        # Tip text is escaped; the policy also stops the page from loading anything at all.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Case C{case['case']}: {h(case['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "td,th{border:1px solid #999;padding:.2em .5em}table{border-collapse:collapse}"
        "blockquote{white-space:pre-wrap}</style></head><body>",
        f"<h1>Case C{case['case']}: {h(case['title'])}</h1><ul>",
        f"<li>Status: {h(case['status'])}"
        + (f" (closed: {h(case['closing_reason'])})" if case["closing_reason"] else "")
        + "</li>",
        f"<li>Grading (Admiralty code): {h(grade_words(case))}</li>",
        f"<li>Tags: {h(', '.join(case['tags']) or 'none')}</li>",
        f"<li>Opened: {h(case['created'])}</li>",
        f"<li>Metadata stripping: {h(method)}</li></ul>",
    ]
    for tip in tips:
        parts += [
            f"<h2>Tip T{tip['tip']}</h2>",
            f"<p>Received {h(tip['received'])}; source <code>{h(tip['source'])}</code></p>",
            f'<h3>Narrative</h3><blockquote dir="auto">{h(tip["narrative"] or "(no narrative)")}'
            "</blockquote><h3>Answers</h3><table><tr><th>Question</th><th>Answer</th></tr>",
        ]
        parts += [
            f'<tr><td>{h(q)}</td><td dir="auto">{h(answer_text(a))}</td></tr>'
            for q, a in sorted(tip["answers"].items())
        ]
        parts.append("</table><h3>Files</h3><ul>")
        for f in tip["files"]:
            extra = f"<br>{h(_image_words(f))}" if _image_words(f) else ""
            if "cleaning" in f:
                extra += f"<br>metadata-stripped copy: {h(f['cleaning'])}"
                if f.get("cleaned_path"):
                    extra += f" -&gt; <code>{h(f['cleaned_path'])}</code>"
            parts.append(
                f"<li><code>{h(f['path'])}</code> ({h(f['content_type'] or 'unknown type')}, "
                f"{f['size']} bytes) SHA-256 at intake <code>{h(f['sha256'])}</code>{extra}</li>"
            )
        parts.append("</ul>")
    parts.append(
        "<h2>Status history</h2><table><tr><th>Time</th><th>Who</th><th>Status</th>"
        "<th>Reason</th></tr>"
    )
    parts += [
        f"<tr><td>{h(x['time'])}</td><td>{h(x['actor'])}</td><td>{h(x['status'])}</td>"
        f"<td>{h(x['reason'] or '')}</td></tr>"
        for x in case["status_history"]
    ]
    parts.append("</table><h2>Notes</h2><ul>")
    parts += [f"<li>{h(n['time'])} ({h(n['actor'])}): {h(n['text'])}</li>" for n in case["notes"]]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"
