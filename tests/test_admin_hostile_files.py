"""Files and text a hostile source sends, through `show`, `open` and `case export`:
a corrupt-EXIF WebP, a name that claims the cleaned copy's name, a 255-character Chinese
name, a parser that runs too long, hostile Markdown, and a laptop without bubblewrap."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_jpeg_with_exif, make_vault
from hypothesis import given, settings
from hypothesis import strategies as st
from inert_support import HOSTILE, MD, hostile_text
from PIL import Image

from admin import evidence, inert
from admin.sandbox import Limits
from crypto.kdf import Argon2Cost

PHOTO = make_jpeg_with_exif()
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def corrupt_exif_webp() -> bytes:
    """A valid 16x16 WebP whose EXIF chunk is not TIFF: Pillow's getexif() raises."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(
        buf, format="WEBP", exif=b"Exif\x00\x00NOT A TIFF HEADER" + bytes(8)
    )
    return buf.getvalue()


def _vault_with(tmp_path: Path, files: list[tuple[str, str, bytes]], narrative: str) -> AdminRunner:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(Source(), narrative, answers={"where": "Hotan"}, files=files)
    result = admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes)))
    assert result.exit_code == 0, result.output
    assert admin("case", "new", "Case").exit_code == 0
    assert admin("case", "add", "C1", "T1").exit_code == 0
    return admin


@pytest.fixture
def no_pillow_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any image parsing in the tool's own process fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an untrusted image was parsed outside the sandbox")

    monkeypatch.setattr(Image, "open", refuse)


@needs_bwrap
def test_the_fuzzed_webp_costs_only_its_metadata(
    tmp_path: Path, admin_kdf: Argon2Cost, no_pillow_here: None
) -> None:
    webp = corrupt_exif_webp()
    admin = _vault_with(
        tmp_path, [("bad.webp", "image/webp", webp), ("photo.jpg", "image/jpeg", PHOTO)], "Tip."
    )
    show = admin("show", "T1")
    assert show.exit_code == 0, show.output
    assert "Tip." in show.stdout
    detail = json.loads(admin("show", "T1", "--json").stdout)
    bad, photo = detail["files"]
    assert bad["image"] is None
    assert bad["problem"] == "photo metadata not read: the parser failed (SyntaxError)"
    assert photo["image"]["camera"] == "Huawei P30 Pro"  # read in the sandbox
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--silent")
    assert result.exit_code == 0, result.output
    assert (out / "originals/T1/F1/bad.webp").read_bytes() == webp
    assert "photo metadata not read: the parser failed (SyntaxError)" in (
        (out / "report.html").read_text()
    )


def test_pillow_itself_raises_on_the_fuzzed_webp() -> None:
    with Image.open(io.BytesIO(corrupt_exif_webp())) as img, pytest.raises(SyntaxError):
        img.getexif()


@needs_bwrap
def test_a_source_named_cleaned_copy_survives_strip_metadata(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    theirs = make_jpeg_with_exif()[:-2] + b"\xff\xd9"  # the source's own "cleaned" file
    other = Image.new("RGB", (8, 8), (1, 2, 3))
    buf = io.BytesIO()
    other.save(buf, format="JPEG")
    own_cleaned = buf.getvalue()
    admin = _vault_with(
        tmp_path,
        [("a.jpg", "image/jpeg", theirs), ("a.cleaned.jpg", "image/jpeg", own_cleaned)],
        "Two photos.",
    )
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    originals = {p.name: p.read_bytes() for p in (out / "originals").rglob("*.jpg")}
    assert originals == {"a.jpg": theirs, "a.cleaned.jpg": own_cleaned}
    cleaned = sorted(p.relative_to(out).as_posix() for p in (out / "cleaned").rglob("*.jpg"))
    assert cleaned == ["cleaned/T1/F1/a.cleaned.jpg", "cleaned/T1/F2/a.jpg"]
    sums = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    assert sums["originals/T1/F2/a.jpg"] == hashlib.sha256(theirs).hexdigest()
    assert sums["originals/T1/F1/a.cleaned.jpg"] == hashlib.sha256(own_cleaned).hexdigest()


@needs_bwrap
def test_a_255_character_chinese_name_is_opened_and_exported(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    name = "转化班" * 83 + "记录" + ".jpg"  # 255 characters, 763 bytes in UTF-8
    assert len(name) == 255
    admin = _vault_with(tmp_path, [(name, "image/jpeg", PHOTO)], "Long name.")
    to = tmp_path / "work"
    to.mkdir()
    result = admin("open", "T1", name, "--to", str(to))
    assert result.exit_code == 0, result.output
    (written,) = to.iterdir()
    assert written.read_bytes() == PHOTO
    assert written.name.endswith(".jpg")
    assert len(written.name.encode("utf-8")) <= 255
    assert name.startswith(written.name[:-4])
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    assert (out / "originals/T1/F1" / written.name).read_bytes() == PHOTO
    assert (out / "cleaned/T1/F1" / written.name).is_file()


@needs_bwrap
def test_a_parser_that_runs_too_long_is_stopped_and_the_export_completes(
    tmp_path: Path, admin_kdf: Argon2Cost, monkeypatch: pytest.MonkeyPatch
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (7000, 7000)).save(buf, format="PNG")  # 49 Mpx in 140 KB
    heavy = buf.getvalue()
    admin = _vault_with(tmp_path, [("heavy.png", "image/png", heavy)], "Heavy.")
    monkeypatch.setattr(evidence, "CLEANING_LIMITS", Limits(wall_seconds=0.3))
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    assert "Not cleaned (see report.md): originals/T1/F1/heavy.png" in result.stdout
    assert (out / "originals/T1/F1/heavy.png").read_bytes() == heavy
    assert not (out / "cleaned").exists()
    assert "not cleaned: the parser took longer than 0.3 s and was stopped" in (
        (out / "report.html").read_text()
    )


def test_without_bubblewrap_tips_still_show_and_nothing_is_parsed(
    tmp_path: Path, admin_kdf: Argon2Cost, monkeypatch: pytest.MonkeyPatch, no_pillow_here: None
) -> None:
    admin = _vault_with(tmp_path, [("photo.jpg", "image/jpeg", PHOTO)], "Still readable.")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bwrap-here"))
    show = admin("show", "T1", "--json")
    assert show.exit_code == 0, show.output
    (photo,) = json.loads(show.stdout)["files"]
    assert photo["image"] is None
    assert photo["problem"].startswith("photo metadata not read: bubblewrap (bwrap) is not")
    assert "sudo apt install bubblewrap" in photo["problem"]
    assert "Still readable." in admin("show", "T1").stdout
    assert admin("inbox").exit_code == 0
    out = tmp_path / "evidence"
    assert admin("case", "export", "C1", "--out", str(out), "--silent").exit_code == 0
    assert (out / "originals/T1/F1/photo.jpg").read_bytes() == PHOTO
    refused = admin("case", "export", "C1", "--out", str(tmp_path / "e2"), "--strip-metadata")
    assert refused.exit_code == 1
    assert "Error: --strip-metadata needs the sandbox: bubblewrap (bwrap) is not" in (
        refused.output
    )
    assert "Nothing was exported." in refused.output
    assert not (tmp_path / "e2").exists()


@needs_bwrap
def test_report_md_from_hostile_tips_renders_no_link_image_or_html(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    evil = "".join(HOSTILE)
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(
        Source(), evil, answers={evil: evil}, files=[(f"{evil}.jpg", evil, PHOTO)]
    )
    assert admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    assert admin("case", "new", evil).exit_code == 0
    assert admin("case", "add", "C1", "T1").exit_code == 0
    assert admin("case", "note", "C1", "--text", evil).exit_code == 0
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    _assert_only_our_structure(report, tips=1)
    for path in ("report.md", "report.html"):
        data = (out / path).read_text(encoding="utf-8")
        assert not [c for c in data if c not in "\n" and inert.is_hidden(c)], path


def _assert_only_our_structure(report: str, tips: int) -> None:
    """The report's own headings and tables, and nothing a tip could add."""
    tokens = MD.parse(report)
    everything = [*tokens, *(c for t in tokens for c in t.children or [])]
    kinds = [t.type for t in everything]
    for forbidden in ("link_open", "image", "html_block", "html_inline", "code_block", "fence"):
        assert forbidden not in kinds
    assert kinds.count("heading_open") == 1 + 4 * tips + 2
    assert kinds.count("table_open") == tips + 1
    assert kinds.count("blockquote_open") == tips


@settings(deadline=None, max_examples=150)
@given(
    title=hostile_text,
    narrative=hostile_text,
    answers=st.dictionaries(hostile_text, hostile_text, max_size=3),
    name=hostile_text,
    ctype=hostile_text,
    note=hostile_text,
    exif=hostile_text,
)
def test_no_field_of_a_report_can_add_markdown_structure(
    title: str,
    narrative: str,
    answers: dict[str, str],
    name: str,
    ctype: str,
    note: str,
    exif: str,
) -> None:
    case: dict[str, Any] = {
        "case": 1,
        "title": title,
        "status": "verifying",
        "closing_reason": note or None,
        "grade": None,
        "tags": [title, note],
        "created": note,
        "tips": [1],
        "status_history": [{"time": note, "actor": title, "status": "new", "reason": note}],
        "notes": [{"time": note, "actor": title, "text": note}],
    }
    tip = {
        "tip": 1,
        "received": note,
        "source": title,
        "narrative": narrative,
        "answers": answers or {"q": "a"},
        "files": [
            {
                "path": f"originals/T1/F1/{name}",
                "content_type": ctype,
                "size": 1,
                "sha256": exif,
                "image": {"date_taken": exif, "camera": exif, "gps": None},
                "cleaning": f"not cleaned: {exif}",
                "cleaned_path": name,
            }
        ],
    }
    report = evidence.markdown_report(case, [tip], exif)
    _assert_only_our_structure(report, tips=1)


@needs_bwrap
def test_an_original_changed_after_writing_stops_the_export(
    tmp_path: Path, admin_kdf: Argon2Cost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cleaner that wrote over its input (what mat2 did beside the originals) is caught."""
    admin = _vault_with(tmp_path, [("a.jpg", "image/jpeg", PHOTO)], "Tip.")
    real = evidence.clean_copy

    def overwriting(original: Path, target: Path, job: str, image: bool) -> tuple[str, str | None]:
        original.write_bytes(b"cleaned over the original")
        return real(original, target, job, image)

    monkeypatch.setattr(evidence, "clean_copy", overwriting)
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 1
    assert (
        "Error: originals/T1/F1/a.jpg no longer matches the SHA-256 recorded at intake after "
        "it was written" in result.output
    )
    assert "Nothing was exported." in result.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".evidence.partial")]
