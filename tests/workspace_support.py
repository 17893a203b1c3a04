"""Helpers for the workspace tests: a vault holding real imported tips, and a client that
talks to the workspace app through its gate (secret prefix, Host, CSRF) as a browser does."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from admin_support import (
    PASSPHRASE,
    AdminRunner,
    FakeInstance,
    Source,
    make_jpeg_with_exif,
    make_vault,
)
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from admin.vault import Vault, open_vault
from admin.workspace import create_app

PORT = 18765
HOST = f"127.0.0.1:{PORT}"
CHINESE_NARRATIVE = "他们在周二晚上把我哥哥带到了转化班。我们至今不知道他在哪里。"
HOSTILE_NARRATIVE = (
    '<script>document.title="pwned"</script><svg onload="alert(1)"><circle r="9"/></svg>'
    '<img src=x onerror=alert(2)><a href="javascript:alert(3)">click</a>'
)
HOSTILE_FILENAME = '<svg onload="alert(4)">.svg'
ANSWERS = {
    "when": "2024年3月",
    "province": "新疆",
    "place_type": "reeducation_centre",
    "what_done": ["detention", "forced_dna"],
    "consent": "ask_first",
}


def minimal_pdf() -> bytes:
    """A one-page PDF (what a source's scanned document might be)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 250, 250)).save(buffer, "PDF")
    return buffer.getvalue()


def minimal_odt(text: str) -> bytes:
    """A one-paragraph OpenDocument text, zipped by hand (what Writer would save, minus styles)."""
    import zipfile

    office = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<office:document-content xmlns:office="{office}:office:1.0"'
        f' xmlns:text="{office}:text:1.0" office:version="1.2">'
        f"<office:body><office:text><text:p>{text}</text:p></office:text></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<manifest:manifest xmlns:manifest="{office}:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as odt:
        odt.writestr("mimetype", "application/vnd.oasis.opendocument.text")  # stored, first
        odt.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        odt.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


SVG_FILE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"><script>alert(6)</script></svg>'
)


@dataclass
class Filled:
    """A vault with an imported Chinese tip (photo + PDF) and a hostile tip, and its bundle."""

    admin: AdminRunner
    instance: FakeInstance
    chinese: Source
    hostile: Source
    bundle: Path


def filled_vault(tmp_path: Path, import_it: bool = True) -> Filled:
    """Make the vault and bundle; import the bundle through the CLI unless told not to."""
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    chinese, hostile = Source(), Source()
    envelopes = instance.submit(
        chinese,
        CHINESE_NARRATIVE,
        ANSWERS,
        files=[
            ("拘留所.jpg", "image/jpeg", make_jpeg_with_exif()),
            ("证词.pdf", "application/pdf", minimal_pdf()),
        ],
        received="2024-05-01",
        language="zh_Hans_CN",
    )
    envelopes += instance.submit(
        hostile,
        HOSTILE_NARRATIVE,
        {"province": "<b>bold</b>", "place_type": "<i>not-an-option</i>"},
        files=[(HOSTILE_FILENAME, "image/svg+xml", SVG_FILE)],
        received="2024-05-02",
        language="en",
    )
    bundle = instance.bundle(tmp_path / "bundle.sdb", envelopes)
    if import_it:
        result = admin("import", "--vault", str(admin.vault), str(bundle), "--silent")
        assert result.exit_code == 0, result.output
    return Filled(admin, instance, chinese, hostile, bundle)


class Browser:
    """A test client that sends the gate's Host and prefix, and fills in CSRF tokens."""

    def __init__(self, app: Flask, secret: str) -> None:
        self.app = app
        self.secret = secret
        self.client: FlaskClient = app.test_client()

    def url(self, path: str) -> str:
        """The full path under the secret prefix."""
        return f"/{self.secret}{path}"

    def get(self, path: str, **kw: Any) -> TestResponse:
        """GET a workspace page."""
        return self.client.get(self.url(path), base_url=f"http://{HOST}", **kw)

    def token(self, path: str = "/transfer") -> str:
        """The CSRF token of a page's forms."""
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> TestResponse:
        """POST a form as the workspace's own page would (token included)."""
        data = {"csrf_token": self.token(), **data}
        return self.client.post(self.url(path), data=data, base_url=f"http://{HOST}", **kw)


@contextmanager
def workspace(vault_dir: Path, actor: str = "researcher") -> Iterator[tuple[Browser, Vault]]:
    """The workspace app over an unlocked vault, as `sealdrop-admin workspace` builds it."""
    with open_vault(vault_dir, PASSPHRASE.encode(), actor) as vault:
        app, gate = create_app(vault, "s3cret-for-this-run")
        gate.port = PORT
        yield Browser(app, "s3cret-for-this-run"), vault
