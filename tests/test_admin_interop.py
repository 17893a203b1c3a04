"""sealdrop-admin against the real server side: tips submitted through the intake app,
exported with `sealdrop export`, imported offline; the ack and the replies go back
through `sealdrop apply-ack` and `sealdrop import-replies`, and the source reads the reply."""

from __future__ import annotations

import json
from pathlib import Path

from admin_support import make_jpeg_with_exif, make_vault
from click.testing import CliRunner
from intake_support import login, submit

from crypto.kdf import Argon2Cost
from intake import create_app
from intake.cli import main as sealdrop
from intake.config import load_config
from intake.instance import create_instance

REPLY = "我们收到了，谢谢。"  # noqa: RUF001 - Chinese punctuation on purpose


def _sealdrop(*args: str) -> str:
    result = CliRunner().invoke(sealdrop, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_tip_goes_from_the_intake_to_the_vault_and_a_reply_back_to_the_source(
    tmp_path: Path, admin_kdf: Argon2Cost, argon2_cost: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance = tmp_path / "instance"
    create_instance(instance, (admin.vault / "admin-identity.pub").read_text(), argon2_cost)
    app = create_app(load_config(instance))
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        photo = make_jpeg_with_exif()
        receipt = submit(
            client,
            narrative="我被送进转化班。They kept us for three months.",
            answers={"province": "新疆", "what_done": ["detention", "forced_labour"]},
            files=[(b"camp.jpg", photo)],
        )
        bundle = tmp_path / "bundle.sdb"
        _sealdrop("export", "--instance", str(instance), "--out", str(bundle))

        ack = tmp_path / "ack.sda"
        imported = admin("import", str(bundle), "--ack-out", str(ack), "--json")
        assert imported.exit_code == 0, imported.output
        data = json.loads(imported.stdout)
        assert data["instance_id"] == load_config(instance).instance_id
        assert len(data["imported"]) == 2
        assert data["tips"] == [1]

        tip = json.loads(admin("show", "T1", "--json").stdout)
        assert tip["narrative"] == "我被送进转化班。They kept us for three months."
        assert tip["answers"]["province"] == "新疆"
        assert sorted(tip["answers"]["what_done"]) == ["detention", "forced_labour"]
        assert [f["filename"] for f in tip["files"]] == ["camp.jpg"]
        assert tip["files"][0]["image"]["camera"] == "Huawei P30 Pro"
        assert [
            h["tip"] for h in json.loads(admin("search", "转化班", "--json").stdout)["hits"]
        ] == [1]

        assert admin("reply", tip["source"][:8], "--message", REPLY).exit_code == 0
        replies = tmp_path / "replies.sdr"
        assert admin("export-replies", "--out", str(replies)).exit_code == 0
        _sealdrop("import-replies", "--instance", str(instance), str(replies))
        _sealdrop("apply-ack", "--instance", str(instance), str(ack))
        assert not [p for p in (instance / "storage").iterdir() if p.is_file()]

        login(client, receipt)
        page = client.get("/source")
        assert page.status_code == 200
        assert REPLY in page.get_data(as_text=True)
    finally:
        app.extensions["sealdrop"].engine.dispose()
