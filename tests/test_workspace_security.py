"""The workspace's security rules, through the real app and its gate: the per-run secret,
the Host check, cross-site forms, the strict headers, and hostile tip content shown only as
text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workspace_support import (
    HOST,
    HOSTILE_FILENAME,
    HOSTILE_NARRATIVE,
    Filled,
    filled_vault,
    workspace,
)

from admin.workspace.gate import CONTENT_SECURITY_POLICY

PAGES = ["/", "/cases", "/search?q=x", "/transfer", "/custody"]


@pytest.fixture
def filled(tmp_path: Path, admin_kdf: object) -> Filled:
    """A vault with a Chinese tip and a hostile tip imported."""
    return filled_vault(tmp_path)


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_only_under_the_secret(filled: Filled, path: str) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        assert browser.get(path).status_code == 200
        base = f"http://{HOST}"
        client = browser.client
        assert client.get(path, base_url=base).status_code == 403  # no secret
        assert client.get("/wrong-secret" + path, base_url=base).status_code == 403
        # A prefix of the secret, or the secret with something appended, is still wrong.
        assert client.get("/s3cret" + path, base_url=base).status_code == 403
        assert client.get("/s3cret-for-this-runX" + path, base_url=base).status_code == 403
        refused = client.get("/wrong" + path, base_url=base)
        assert "Open the address printed by" in refused.text
        assert refused.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "host", ["evil.example:18765", "127.0.0.1:1", "localhost", "127.0.0.1.evil.example:18765"]
)
def test_a_foreign_host_header_is_refused(filled: Filled, host: str) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        answer = browser.client.get(browser.url("/"), base_url=f"http://{host}")
        assert answer.status_code == 403
        assert "Tip" not in answer.text
        assert (
            browser.client.get(browser.url("/"), base_url="http://localhost:18765").status_code
            == 200
        )


def test_cross_site_posts_are_refused_and_change_nothing(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        url = browser.url("/cases/new")
        base = f"http://{HOST}"
        # No token at all (a form on another site cannot read ours).
        assert browser.client.post(url, data={"title": "x"}, base_url=base).status_code == 400
        # A token, but the browser says the form came from elsewhere.
        token = browser.token()
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "http://127.0.0.1:9999"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            answer = browser.client.post(
                url, data={"title": "x", "csrf_token": token}, base_url=base, headers=headers
            )
            assert answer.status_code == 403, headers
        # A token from another session is no good either.
        other = browser.app.test_client()
        answer = other.post(url, data={"title": "x", "csrf_token": token}, base_url=base)
        assert answer.status_code == 400
        assert vault.db.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
        # The workspace's own form, same origin, works.
        ok = browser.post(
            "/cases/new",
            {"title": "x"},
            headers={"Origin": f"http://{HOST}", "Sec-Fetch-Site": "same-origin"},
        )
        assert ok.status_code == 303
        assert vault.db.execute("SELECT count(*) FROM cases").fetchone()[0] == 1


def test_every_form_carries_a_csrf_token(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        browser.post("/cases/new", {"title": "case"})
        pages = [*PAGES, f"/source/{filled.chinese.source_id}", "/case/1"]
        for path in pages:
            html = browser.get(path).text
            for form in re.findall(r"<form\b.*?</form>", html, re.S):
                if 'method="post"' in form:
                    assert 'name="csrf_token"' in form, (path, form[:200])


@pytest.mark.parametrize("path", PAGES)
def test_strict_headers_and_no_script_on_every_page(filled: Filled, path: str) -> None:
    with workspace(filled.admin.vault) as (browser, _vault):
        answer = browser.get(path)
        assert answer.headers["Content-Security-Policy"] == (
            "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "Server" not in answer.headers
        assert "<script" not in answer.text.lower()
        cookie = answer.headers.get("Set-Cookie", "")
        if cookie:
            assert "HttpOnly" in cookie
            assert "SameSite=Strict" in cookie
            assert "Path=/s3cret-for-this-run/" in cookie


def test_hostile_html_svg_and_script_in_a_tip_are_shown_only_as_text(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        pages = [
            browser.get(f"/source/{filled.hostile.source_id}").text,
            browser.get("/").text,
            browser.get("/search?q=svg").text,
        ]
        envelope = vault.db.execute(
            "SELECT envelope_id FROM envelopes WHERE filename = ?", (HOSTILE_FILENAME,)
        ).fetchone()[0]
        pages.append(browser.get(f"/file/{envelope}").text)
        for html in pages:
            lowered = html.lower()
            assert "<script" not in lowered
            assert "<svg" not in lowered
            assert "<img" not in lowered
            assert "onerror=" not in lowered.replace("onerror=alert", "")  # only as text
            assert 'href="javascript:' not in lowered
            assert "<b>bold</b>" not in html
        source_page = pages[0]
        assert "&lt;script&gt;" in source_page  # the narrative is there, as text
        assert "&lt;svg onload=" in source_page
        assert "&lt;b&gt;bold&lt;/b&gt;" in source_page
        assert HOSTILE_NARRATIVE not in source_page


def test_an_original_is_only_ever_a_download(filled: Filled) -> None:
    with workspace(filled.admin.vault) as (browser, vault):
        envelope = vault.db.execute(
            "SELECT envelope_id, sha256 FROM envelopes WHERE filename = ?", (HOSTILE_FILENAME,)
        ).fetchone()
        # A GET cannot fetch it (a page elsewhere cannot embed it as an image or frame).
        assert browser.get(f"/file/{envelope[0]}/download").status_code == 405
        answer = browser.post(f"/file/{envelope[0]}/download", {})
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        disposition = answer.headers["Content-Disposition"]
        assert "<svg" not in disposition
        assert disposition.isascii()  # HTTP headers are Latin-1: a raw name would break it
        assert "filename*=UTF-8''" in disposition
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert b"<script>alert(6)</script>" in answer.data
        logged = vault.db.execute(
            "SELECT actor, details FROM custody WHERE action = 'download'"
        ).fetchone()
        assert logged[0] == "researcher"
        assert envelope[1] in logged[1]


def test_hidden_characters_in_a_tip_are_shown_as_escapes(tmp_path: Path, admin_kdf: object) -> None:
    from admin_support import FakeInstance, Source, make_vault

    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    # A right-to-left override would make "gpj.exe" read as "exe.jpg"; a zero-width space
    # would split a word search relies on.
    narrative = "photo\u202egpj.exe and\u200bhidden"
    envelopes = instance.submit(source, narrative, files=[("a\u202egpj.exe", "image/jpeg", b"x")])
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    assert admin("import", "--vault", str(admin.vault), str(bundle), "--silent").exit_code == 0
    with workspace(admin.vault) as (browser, _vault):
        for path in ("/", f"/source/{source.source_id}"):
            html = browser.get(path).text
            assert "\u202e" not in html
            assert "\u200b" not in html
            assert "\\u202e" in html
