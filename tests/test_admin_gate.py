"""The validation gate (admin/gate.py): whatever sealed metadata holds, what comes out is
either a rejection or values that keep the gate's rules."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin import gate
from crypto.bundle import ManifestEntry

ENTRY = ManifestEntry("ab" * 16, 100, "cd" * 32, "ef" * 32)
DAY = "2026-12-06"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES = {
    "kind": st.sampled_from(["message", "file"]) | JSON,
    "source_id": st.just(ENTRY.source_id) | JSON,
    "received": st.dates().map(datetime.date.isoformat) | st.text(max_size=12) | JSON,
    "submission_id": st.just("12" * 16) | JSON,
    "language": st.sampled_from(["zh_Hans_CN", "ug", "bo"]) | JSON,
    "answers": st.dictionaries(
        st.from_regex(r"\A[a-z][a-z0-9_]{0,5}\Z") | st.text(max_size=5),
        st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3) | JSON,
        max_size=4,
    )
    | JSON,
    "filename": st.text(max_size=40) | JSON,
    "content_type": st.from_regex(r"\A[a-z]{1,6}/[a-z0-9.+-]{1,8}\Z") | st.text(max_size=20) | JSON,
}
METADATA = st.fixed_dictionaries({}, optional=FIELD_VALUES)


@settings(max_examples=200, deadline=None)
@given(METADATA)
def test_the_gate_only_lets_through_values_that_keep_its_rules(meta: dict[str, Any]) -> None:
    try:
        admitted = gate.admit(meta, ENTRY, DAY)
    except gate.Rejected as exc:
        reason = str(exc)
    else:
        reason = ""
    assert not CONTROLS.search(reason)  # fixed texts only
    if reason:
        return
    assert meta["source_id"] == ENTRY.source_id
    assert admitted.kind in ("message", "file")
    assert datetime.date.fromisoformat(admitted.received).isoformat() == admitted.received
    assert re.fullmatch(r"[0-9a-f]{32}", admitted.submission_id)
    assert admitted.language is None or re.fullmatch(r"[A-Za-z0-9_-]{2,35}", admitted.language)
    for flag in admitted.flags:
        assert not CONTROLS.search(flag)
    if admitted.kind == "file":
        assert admitted.filename
        assert not CONTROLS.search(admitted.filename)
        assert "/" not in admitted.filename
        assert len(admitted.filename) <= 255
        assert admitted.content_type is not None
        assert re.fullmatch(
            r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", admitted.content_type
        )
    else:
        for question, answer in admitted.answers.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]{0,39}", question)
            assert isinstance(answer, str) or all(isinstance(a, str) for a in answer)


def test_a_clean_file_passes_unflagged() -> None:
    meta = {
        "kind": "file",
        "source_id": ENTRY.source_id,
        "received": "2024-02-29",
        "submission_id": "12" * 16,
        "language": "zh_Hans_CN",
        "reply_public_key": "ignored",
        "filename": "证据 ‮gpj.exe",
        "content_type": "image/jpeg",
    }
    admitted = gate.admit(meta, ENTRY, DAY)
    assert (admitted.received, admitted.filename, admitted.content_type, admitted.flags) == (
        "2024-02-29",
        "证据 ‮gpj.exe",  # format controls are the inert renderer's job, not a rejection
        "image/jpeg",
        [],
    )


@pytest.mark.parametrize(
    "day", ["2026-02-29", "2026-13-01", "0000-01-01", "2026-12-06\n", "2026-12-6"]
)
def test_days_that_are_not_dates_fall_back_and_are_flagged(day: str) -> None:
    meta = {"kind": "message", "source_id": ENTRY.source_id, "received": day}
    admitted = gate.admit(meta, ENTRY, DAY)
    assert admitted.received == DAY
    assert admitted.flags[-1].startswith("its day received is not a YYYY-MM-DD date")


def test_a_manifest_day_that_is_not_a_date_is_rejected() -> None:
    with pytest.raises(gate.Rejected, match="YYYY-MM-DD"):
        gate.admit({"kind": "message", "source_id": ENTRY.source_id}, ENTRY, "\x1b[31m")


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"\xff\xfe", "not valid UTF-8"), (b"\xed\xa0\x80", "not valid UTF-8")],
)
def test_message_text_must_be_utf8(data: bytes, reason: str) -> None:
    with pytest.raises(gate.Rejected, match=reason):
        gate.message_text(data)
