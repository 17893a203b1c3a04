"""Evidence export: report, original files, SHA256SUMS, custody excerpt, cleaned copies."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from admin_support import (
    AdminRunner,
    FakeInstance,
    Source,
    make_jpeg_with_exif,
    make_vault,
    tree_digest,
)
from inert_support import MD, rendered_text
from PIL import Image

from crypto.kdf import Argon2Cost

PHOTO = make_jpeg_with_exif()
NARRATIVE = "我哥哥2023年被带走。He was taken to the camp near Hotan."


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    envelopes = instance.submit(
        Source(),
        NARRATIVE,
        answers={"where": "Hotan", "consent": "anonymised"},
        files=[
            ("photo.jpg", "image/jpeg", PHOTO),
            ("../../etc/evil.txt", "text/plain", b"path trick"),
        ],
    )
    envelopes += instance.submit(Source(), "Unrelated tip.")
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    for args in (
        ("case", "new", "Hotan camp"),
        ("case", "add", "C1", "T1"),
        ("case", "status", "C1", "verifying"),
        ("case", "grade", "C1", "B2"),
        ("case", "note", "C1", "--text", "Satellite images match."),
    ):
        assert vault(*args).exit_code == 0, args
    return vault


def _gps(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif().get_ifd(0x8825))


def test_case_export_writes_report_files_manifest_and_custody_excerpt(
    admin: AdminRunner, tmp_path: Path
) -> None:
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--silent")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Exported case C1 to {out} (")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "SHA256SUMS",
        "custody.jsonl",
        "originals/T1/F1/evil.txt",
        "originals/T1/F2/photo.jpg",
        "originals/T1/narrative.txt",
        "report.html",
        "report.md",
    ]
    assert (out / "originals/T1/F2/photo.jpg").read_bytes() == PHOTO
    assert (out / "originals/T1/narrative.txt").read_text(encoding="utf-8") == NARRATIVE
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 6

    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Case C1: Hotan camp\n")
    shown = rendered_text(report)
    assert "Status: verifying" in shown
    assert "B2 (source: usually reliable; information: probably true)" in shown
    assert "<blockquote>\n<p>我哥哥2023年被带走。He was taken to the camp near Hotan.</p>" in (
        MD.render(report)
    )
    assert "<td>where</td>\n<td>Hotan</td>" in MD.render(report)
    assert f"SHA-256 at intake {hashlib.sha256(PHOTO).hexdigest()}" in shown
    assert "GPS 39.47, 75.99" in shown
    assert "<td>verifying</td>" in MD.render(report)
    assert "Satellite images match." in shown
    assert "Unrelated tip" not in shown
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<h1>Case C1: Hotan camp</h1>" in html
    assert "<script" not in html
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'\"" in html
    assert hashlib.sha256(PHOTO).hexdigest() in html

    excerpt = [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]
    assert {e["object"] for e in excerpt} == {"case:1", "tip:1"}
    assert [e["action"] for e in excerpt if e["object"] == "case:1"] == [
        "case-new",
        "case-add",
        "status",
        "grade",
        "note",
    ]
    log = json.loads(admin("log", "--json", "--object", "case:1").stdout)["entries"]
    assert log[-1]["action"] == "export"
    assert (
        log[-1]["details"]["sha256sums"]
        == hashlib.sha256((out / "SHA256SUMS").read_bytes()).hexdigest()
    )


def test_export_json_output(admin: AdminRunner, tmp_path: Path) -> None:
    result = admin("case", "export", "C1", "--out", str(tmp_path / "e"), "--json")
    data = json.loads(result.stdout)
    assert data["case"] == 1
    assert data["files"] == 6
    assert data["metadata_stripping"] == "none requested"


def test_strip_metadata_with_mat2_adds_cleaned_copies_and_keeps_originals(
    admin: AdminRunner, tmp_path: Path
) -> None:
    if shutil.which("mat2") is None:
        pytest.skip("mat2 is not installed (Debian package mat2)")
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    assert "Metadata stripping: mat2, in the sandbox" in result.stdout
    assert (out / "originals/T1/F2/photo.jpg").read_bytes() == PHOTO
    assert _gps(PHOTO)
    assert _gps((out / "cleaned/T1/F2/photo.jpg").read_bytes()) == {}
    report = (out / "report.md").read_text()
    assert "Metadata stripping: mat2, in the sandbox" in rendered_text(report)
    assert "metadata-stripped copy: cleaned with mat2 -> cleaned/T1/F2/photo.jpg" in (
        rendered_text(report)
    )
    sums = (out / "SHA256SUMS").read_text()
    assert "cleaned/T1/F2/photo.jpg" in sums
    assert f"{hashlib.sha256(PHOTO).hexdigest()}  originals/T1/F2/photo.jpg" in sums


def test_strip_metadata_without_mat2_re_encodes_images_with_pillow(
    admin: AdminRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bwrap-only"
    bin_dir.mkdir()
    (bin_dir / "bwrap").symlink_to(shutil.which("bwrap") or "/usr/bin/bwrap")
    monkeypatch.setenv("PATH", str(bin_dir))
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out), "--strip-metadata", "--silent")
    assert result.exit_code == 0, result.output
    assert "Pillow re-encode of images, in the sandbox (mat2 not installed)" in result.stdout
    assert "Not cleaned (see report.md): originals/T1/F1/evil.txt" in result.stdout
    cleaned = (out / "cleaned/T1/F2/photo.jpg").read_bytes()
    assert _gps(cleaned) == {}
    with Image.open(io.BytesIO(cleaned)) as img:
        assert img.size == (32, 24)
        assert not img.getexif()
    assert (out / "originals/T1/F2/photo.jpg").read_bytes() == PHOTO
    assert not (out / "cleaned/T1/F1").exists()
    report = (out / "report.md").read_text()
    assert "not cleaned: not an image (mat2 is not installed)" in rendered_text(report)


def test_export_refuses_an_existing_target(admin: AdminRunner, tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    before = tree_digest(admin.vault)
    result = admin("case", "export", "C1", "--out", str(out))
    assert result.exit_code == 1
    assert (
        f"Error: {out} already exists: an export never overwrites. Choose a new folder."
        in result.output
    )
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert tree_digest(admin.vault) == before


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "/sys/sealdrop-evidence",
            "cannot write the export (Operation not permitted). Nothing was exported.",
        ),
        ("missing-parent/evidence", "does not exist. Create it or choose another place."),
    ],
)
def test_export_refuses_a_target_it_cannot_write(
    admin: AdminRunner, tmp_path: Path, target: str, message: str
) -> None:
    out = Path(target) if target.startswith("/") else tmp_path / target
    before = tree_digest(admin.vault)
    result = admin("case", "export", "C1", "--out", str(out))
    assert result.exit_code == 1
    assert message in result.output
    assert tree_digest(admin.vault) == before
    assert not out.exists()


def test_export_refuses_a_target_inside_the_vault(admin: AdminRunner) -> None:
    result = admin("case", "export", "C1", "--out", str(admin.vault / "out"))
    assert result.exit_code == 1
    assert "inside the vault" in result.output


def test_a_damaged_stored_file_stops_the_export_and_leaves_nothing(
    admin: AdminRunner, tmp_path: Path
) -> None:
    detail = json.loads(admin("show", "T1", "--json").stdout)
    photo = next(f for f in detail["files"] if f["filename"] == "photo.jpg")
    stored = admin.vault / "content" / f"{photo['envelope_id']}.sdv"
    data = bytearray(stored.read_bytes())
    data[-3] ^= 1
    stored.write_bytes(bytes(data))
    out = tmp_path / "evidence"
    result = admin("case", "export", "C1", "--out", str(out))
    assert result.exit_code == 1
    assert f"the stored copy of envelope {photo['envelope_id']} is damaged" in result.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".evidence.partial")]
    assert os.listdir(tmp_path)  # the vault is still there


def test_tip_text_cannot_inject_markup_into_the_reports(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    evil = '<script>alert(1)</script><img src="http://x/">'
    envelopes = instance.submit(
        Source(), evil, answers={"where": evil}, files=[(f"{evil}.txt", "text/html", b"x")]
    )
    assert admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    admin("case", "new", "x")
    admin("case", "add", "C1", "T1")
    out = tmp_path / "evidence"
    assert admin("case", "export", "C1", "--out", str(out), "--silent").exit_code == 0
    html = (out / "report.html").read_text()
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    rendered = MD.render((out / "report.md").read_text())
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert (
        "<td>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=&quot;http://x/&quot;&gt;</td>"
        in (rendered)
    )
