"""Fuzzing the offline import (hypothesis): `sealdrop-admin import` fed a real export bundle
with random damage. It never crashes (exit 0; 1 with `Error:`; or 3 with each damaged
envelope listed as SKIPPED, per docs/admin.md), never records content that differs from
what the source sent, and every tip imported earlier stays intact with the custody log
still verifying."""

from __future__ import annotations

import json
from pathlib import Path

from admin_support import AdminRunner, make_vault, submit_and_bundle
from hypothesis import given
from proof_support import PROOF
from test_proof_fuzz_formats import damaged

from crypto.kdf import Argon2Cost

EARLIER = "An earlier tip that must survive every bad import."
NARRATIVE = "他们在周二晚上带走了我的哥哥。"


def _inbox(admin: AdminRunner) -> list[dict]:
    result = admin("inbox", "--all", "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["tips"])


def test_a_damaged_bundle_never_crashes_import_nor_changes_what_was_sent(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance, source, _envelopes, first = submit_and_bundle(
        admin, tmp_path, "first.sdb", narrative=EARLIER
    )
    assert admin("import", str(first), "--silent").exit_code == 0
    envelopes = instance.submit(
        source, NARRATIVE, {"when": "2024-03"}, [("photo.jpg", "image/jpeg", b"\xff\xd8" * 500)]
    )
    original = instance.bundle(tmp_path / "second.sdb", envelopes).read_bytes()
    target = tmp_path / "damaged.sdb"
    seen_codes: set[int] = set()

    @PROOF
    @given(damaged(original))
    def import_damaged(data: bytes) -> None:
        target.write_bytes(data)
        result = admin("import", str(target), "--silent")  # an exception fails the test
        seen_codes.add(result.exit_code)
        assert result.exit_code in (0, 1, 3), result.output
        assert "Traceback" not in result.output
        if result.exit_code == 1:
            assert "Error:" in result.output
        if result.exit_code == 3:  # a damaged slot is skipped; bytes filling no slot ignored
            assert "SKIPPED envelope" in result.output or "IGNORED" in result.output

    import_damaged()
    assert {1, 3} <= seen_codes  # refused whole, and damaged envelopes skipped
    tips = _inbox(admin)
    assert EARLIER in [tip["first_words"] for tip in tips]
    for tip in tips:
        shown = json.loads(admin("show", str(tip["tip"]), "--json").output)
        assert shown["narrative"] in (EARLIER, NARRATIVE, None)
    assert admin("verify-log").exit_code == 0
    # The undamaged bundle still imports whatever the damaged ones could not.
    assert admin("import", str(tmp_path / "second.sdb"), "--silent").exit_code == 0
    texts = [tip["first_words"] for tip in _inbox(admin)]
    assert NARRATIVE in texts
