"""admin/content.py's safe_filename: any name a source sends becomes a file one can create."""

from __future__ import annotations

import os
import tempfile
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from inert_support import hostile_text

from admin.content import NAME_MAX_BYTES, safe_filename

names = st.one_of(
    hostile_text,
    st.text(min_size=200, max_size=400),
    st.tuples(
        st.text(alphabet="转化班記錄ئۇيغۇر", min_size=1, max_size=300),
        st.sampled_from([".jpg", ".tar.gz", ".pdf", "", ".", ".超长的扩展名"]),
    ).map("".join),
)


@settings(deadline=None, max_examples=300)
@given(names)
def test_every_name_becomes_one_creatable_inert_file_name(name: str) -> None:
    safe = safe_filename(name, "file.bin")
    assert safe
    assert 0 < len(safe.encode("utf-8")) <= NAME_MAX_BYTES
    assert "/" not in safe
    assert not safe.startswith(".")
    assert not [c for c in safe if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}]
    with tempfile.TemporaryDirectory() as folder:
        fd = os.open(os.path.join(folder, safe), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        assert os.listdir(folder) == [safe]


def test_a_long_chinese_name_keeps_its_extension_and_fits_in_255_bytes() -> None:
    name = "转化班" * 85 + ".jpeg"
    safe = safe_filename(name, "file.bin")
    assert safe.endswith(".jpeg")
    assert len(safe.encode("utf-8")) <= 255 < len(name.encode("utf-8"))
    assert name.startswith(safe[: -len(".jpeg")])
    assert len(safe.encode("utf-8")) > 250  # cut at the limit, not far below it


def test_direction_controls_and_paths_are_removed() -> None:
    assert safe_filename("invoice\u202egpj.exe", "x") == "invoice_gpj.exe"
    assert safe_filename("../../etc/passwd", "x") == "passwd"
    assert safe_filename("..\\..\\boot.ini", "x") == "boot.ini"
    assert safe_filename("..", "fallback.bin") == "fallback.bin"
    assert safe_filename("\u200b\u200b", "fallback.bin") == "__"
