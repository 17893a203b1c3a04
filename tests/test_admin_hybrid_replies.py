"""sealdrop-admin seals replies to the source's X-Wing reply key when its envelopes carry one
(servers since envelope v2), and to the X25519 key otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from admin_support import FakeInstance, Source, make_vault

from crypto.errors import PayloadError
from crypto.kdf import Argon2Cost
from crypto.replies import open_reply, read_reply_bundle
from crypto.xwing import XWingPrivateKey


@pytest.mark.parametrize("hybrid", [True, False], ids=["hybrid-source", "source-before-v2"])
def test_reply_is_sealed_to_the_best_key_the_source_has(
    tmp_path: Path, admin_kdf: Argon2Cost, hybrid: bool
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source(reply_xwing_key=XWingPrivateKey.generate() if hybrid else None)
    envelopes = instance.submit(source, "tip")
    assert admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    assert admin("reply", source.source_id[:12], "--message", "收到 received").exit_code == 0
    out = tmp_path / "r.sdr"
    assert admin("export-replies", "--out", str(out)).exit_code == 0
    (reply,) = read_reply_bundle(
        io.BytesIO(out.read_bytes()), admin.identity().signer, instance.instance_id
    )
    if hybrid:
        assert source.reply_xwing_key is not None
        assert reply.kem == "xwing"
        assert open_reply(reply.sealed, source.reply_xwing_key) == "收到 received"
        with pytest.raises(PayloadError):
            open_reply(reply.sealed, source.reply_key)
    else:
        assert reply.kem == "x25519"
        assert open_reply(reply.sealed, source.reply_key) == "收到 received"
