"""The intake seals to whatever the admin identity lists: X-Wing, X25519, or both, always
as envelope v2."""

from __future__ import annotations

from pathlib import Path

import pytest
from intake_support import open_envelopes, submit
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.envelope import (
    MAGIC,
    STANZA_BYTES,
    STANZA_X25519,
    STANZA_XWING,
    XWING_STANZA_BYTES,
    Opener,
)
from crypto.errors import NoMatchingKey
from crypto.kdf import Argon2Cost
from crypto.keys import AdminIdentity
from crypto.xwing import XWingPrivateKey


def _stanza_types(data: bytes) -> list[int]:
    assert data.startswith(MAGIC)
    count, offset, types = data[len(MAGIC) + 1], len(MAGIC) + 2, []
    for _ in range(count):
        types.append(data[offset])
        offset += 1 + (XWING_STANZA_BYTES if data[offset] == STANZA_XWING else STANZA_BYTES)
    return types


def _app(tmp_path: Path, identity: AdminIdentity, cost: Argon2Cost, monkeypatch):  # type: ignore[no-untyped-def]
    from intake import create_app
    from intake.config import load_config
    from intake.instance import create_instance

    monkeypatch.delenv("SEALDROP_DATABASE_URL", raising=False)
    create_instance(tmp_path / "instance", identity.to_text(), cost, None)
    app = create_app(load_config(tmp_path / "instance"))
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize("kinds", [("xwing",), ("x25519",), ("x25519", "xwing", "xwing")])
def test_the_intake_seals_to_every_listed_recipient(
    tmp_path: Path, argon2_cost: Argon2Cost, monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...]
) -> None:
    keys = [XWingPrivateKey.generate() if k == "xwing" else PrivateKey.generate() for k in kinds]
    identity = AdminIdentity(tuple(k.public_key for k in keys), SigningKey.generate().verify_key)
    app = _app(tmp_path, identity, argon2_cost, monkeypatch)
    try:
        submit(app.test_client(), narrative="a hybrid-sealed tip")
        state = app.extensions["sealdrop"]
        (envelope_id,) = state.store.ids()
        with state.store.open(envelope_id) as handle:
            data = handle.read()
        expected = [STANZA_XWING if k == "xwing" else STANZA_X25519 for k in kinds]
        assert _stanza_types(data) == expected
        for key in keys:  # each recipient alone opens it
            ((_, content),) = open_envelopes(app, Opener([key]))
            assert content == b"a hybrid-sealed tip"
        with pytest.raises(NoMatchingKey):
            open_envelopes(app, Opener([XWingPrivateKey.generate()]))
    finally:
        app.extensions["sealdrop"].engine.dispose()


def test_a_v1_identity_keeps_its_text_and_fingerprint_and_gets_v2_envelopes(
    tmp_path: Path, argon2_cost: Argon2Cost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server set up before v2: same identity file and fingerprint, envelopes now v2."""
    key = PrivateKey.generate()
    v1 = AdminIdentity((key.public_key,), SigningKey.generate().verify_key, version=1)
    assert v1.to_text().startswith("sealdrop admin identity v1\n")
    app = _app(tmp_path, v1, argon2_cost, monkeypatch)
    try:
        stored_text = (tmp_path / "instance" / "admin-identity.pub").read_text()
        assert stored_text == v1.to_text()
        submit(app.test_client(), narrative="after the upgrade")
        state = app.extensions["sealdrop"]
        (envelope_id,) = state.store.ids()
        with state.store.open(envelope_id) as handle:
            assert _stanza_types(handle.read()) == [STANZA_X25519]
        ((_, content),) = open_envelopes(app, Opener([key]))
        assert content == b"after the upgrade"
    finally:
        app.extensions["sealdrop"].engine.dispose()
