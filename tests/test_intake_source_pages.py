"""What a source sees (issue 17 items 4-8), through Flask's test client: deleting an answer
asks first on a page of its own; answers show their day; one primary button per page; a
form whose CSRF cookie expired comes back filled in, nothing sent; receipts carry a check
group that tells a typo from an unknown receipt (older receipts still work); the size
limits are stated; an empty file is kept and the source told; a file name with format
controls is refused."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from i18n_checks import read_page, script_problems
from intake_support import (
    MULTIPART,
    Part,
    csrf_token,
    login,
    multipart,
    nothing_stored,
    open_envelopes,
    post_parts,
    receipt_of,
    stored,
    submission_parts,
    submit,
)
from nacl.public import PublicKey

from crypto.encoding import b64decode
from crypto.envelope import Opener
from crypto.receipt_check import with_check
from crypto.receipts import format_receipt
from crypto.replies import make_reply, read_reply_bundle, write_reply_bundle
from intake import messages
from intake.i18n import LANGUAGES
from intake.models import Source
from intake.replies import store_replies

REPLY_DAY = datetime.date(2026, 11, 29)


def _reply_to_source(app: Flask, admin_keys, text: str) -> None:  # type: ignore[no-untyped-def]
    """A signed reply to the first source, imported as `sealdrop import-replies` does."""
    meta, _ = open_envelopes(app, Opener([admin_keys.recipient]))[0]
    reply_key = PublicKey(b64decode(meta["reply_public_key"], 32))
    state = app.extensions["sealdrop"]
    statement = make_reply(
        admin_keys.signing,
        state.config.instance_id,
        meta["source_id"],
        reply_key,
        text,
        REPLY_DAY.isoformat(),
    )
    signer = admin_keys.identity.signer
    replies = read_reply_bundle(
        io.BytesIO(write_reply_bundle([statement])), signer, state.config.instance_id
    )
    with state.sessions() as session:
        store_replies(session, replies, signer, state.config.instance_id, REPLY_DAY)
        session.commit()


def _buttons(html: str) -> list[str]:
    return re.findall(r"<button[^>]*>", html)


def _primary(html: str) -> list[str]:
    return [b for b in _buttons(html) if 'class="' not in b]


# --- item 4: deleting asks first; days; one primary button ------------------------------


def test_deleting_an_answer_asks_on_a_page_of_its_own(
    app: Flask, client: FlaskClient, admin_keys
) -> None:  # type: ignore[no-untyped-def]
    login(client, submit(client))
    _reply_to_source(app, admin_keys, "We read your report. Are you safe?")
    page = client.get("/source").get_data(as_text=True)
    # On the answers page: a link, not a form that deletes at one tap.
    link = re.search(
        r'<a href="(/source/replies/[0-9a-f]{32}/delete)">Delete this answer</a>', page
    )
    assert link, page
    assert 'action="/source/replies/' not in page
    assert "Sent on November 29, 2026" in page
    confirm = client.get(link.group(1))
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Delete this answer?" in html
    assert "We read your report. Are you safe?" in html  # the answer it is about
    assert "cannot be brought back" in html
    assert "No, keep it" in html
    assert stored(app).replies == 1  # looking at the question deletes nothing
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    done = client.post(link.group(1), data={"csrf_token": token})
    assert done.status_code == 303
    assert stored(app).replies == 0
    assert "The answer was deleted." in client.get(done.headers["Location"]).get_data(as_text=True)


def test_the_main_action_is_the_only_primary_button(
    app: Flask, client: FlaskClient, admin_keys
) -> None:  # type: ignore[no-untyped-def]
    login(client, submit(client))
    _reply_to_source(app, admin_keys, "An answer")
    page = client.get("/source").get_data(as_text=True)
    assert _primary(page) == ['<button type="submit">']  # "Send securely"
    assert '<button type="submit" class="secondary">Log out</button>' in page
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "button.secondary{background:#fff" in css


def test_an_unknown_answer_id_deletes_nothing(app: Flask, client: FlaskClient, admin_keys) -> None:  # type: ignore[no-untyped-def]
    login(client, submit(client))
    _reply_to_source(app, admin_keys, "An answer")
    assert client.get("/source/replies/" + "0" * 32 + "/delete").status_code == 303
    assert stored(app).replies == 1


# --- item 5: an expired form comes back filled in ---------------------------------------


def _after_new_identity(app: Flask, parts: list[Part]) -> tuple[FlaskClient, str]:
    """Post from a browser without the form's cookie (Tor Browser's New Identity drops
    every cookie, and the page stays open)."""
    browser = app.test_client()
    response = post_parts(browser, parts)
    assert response.status_code == 400
    return browser, response.get_data(as_text=True)


def test_an_expired_form_comes_back_with_what_was_typed(app: Flask, client: FlaskClient) -> None:
    narrative = "A long account <b>with markup</b> & 中文 that must not be lost.\nLine two."
    parts = submission_parts(
        csrf_token(client),
        narrative=narrative,
        answers={"when": "2024-03", "what_done": ["detention", "forced_dna"], "consent": "never"},
        files=[(b"photo.jpg", b"\xff\xd8 jpeg bytes")],
    )
    browser, html = _after_new_identity(app, parts)
    assert "Nothing was sent: this form had expired" in html
    assert "please choose your files again" in html
    # What was typed is back in the form, as inert text.
    assert (
        "A long account &lt;b&gt;with markup&lt;/b&gt; &amp; 中文 that must not be lost.\nLine two."
        in html
    )
    assert re.search(r'name="q_when" maxlength="\d+" dir="auto" value="2024-03"', html)
    assert re.search(r'name="q_what_done" value="detention" checked', html)
    assert re.search(r'name="q_what_done" value="forced_dna" checked', html)
    assert re.search(r'name="q_consent" value="never" checked', html)
    assert not re.search(r'name="q_consent" value="anonymised" checked', html)
    assert nothing_stored(app)
    # The page carries a fresh token: sending again works, and keeps everything.
    again = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    parts[0] = Part(b"csrf_token", again.encode())
    sent = post_parts(browser, parts)
    assert sent.status_code == 200
    receipt_of(sent.data)
    assert stored(app).envelopes == 2


def test_a_cross_site_post_is_not_shown_back(app: Flask, client: FlaskClient) -> None:
    """Another site must not be able to fill this form for a source."""
    parts = submission_parts("forged", narrative="text chosen by another site")
    response = client.post(
        "/submit",
        data=multipart(parts),
        content_type=MULTIPART,
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 400
    assert "text chosen by another site" not in response.get_data(as_text=True)
    assert nothing_stored(app)


def test_an_expired_follow_up_comes_back_with_the_message(app: Flask, client: FlaskClient) -> None:
    login(client, submit(client))
    parts = [
        Part(b"csrf_token", b"IjEyMyI.expired.token"),
        Part(b"website", b""),
        Part(b"narrative", "more details 更多".encode()),
    ]
    response = post_parts(client, parts, "/source/submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was sent: this form had expired" in html
    assert "more details 更多</textarea>" in html
    assert stored(app).envelopes == 1  # only the first submission


# --- item 6: the receipt's check group --------------------------------------------------


def test_a_mistyped_receipt_is_told_apart_from_an_unknown_one(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit(client)
    digits = receipt.replace(" ", "")
    typo = digits[:5] + str((int(digits[5]) + 1) % 10) + digits[6:]
    response = login(client, format_receipt(typo))
    assert response.status_code == 400
    assert "This receipt has a typing mistake" in response.get_data(as_text=True)
    swapped = digits[:10] + digits[11] + digits[10] + digits[12:]
    if swapped != digits:
        assert b"typing mistake" in login(client, swapped).data
    # A well-formed receipt nobody was given: the look-up answers.
    unknown = login(client, format_receipt(with_check("1" * 20)))
    assert unknown.status_code == 403
    assert "No submission matches this receipt" in unknown.get_data(as_text=True)
    assert login(client, receipt).status_code == 303


def test_a_receipt_given_before_the_check_still_logs_in(app: Flask, client: FlaskClient) -> None:
    old = "48210937551266047310"  # 20 digits, no check group
    state = app.extensions["sealdrop"]
    keys = state.derive(old)
    with state.sessions() as session:
        session.add(
            Source(
                id=keys.source_id_hex,
                reply_public_key=bytes(keys.reply_key.public_key),
                created_day=datetime.date(2026, 11, 1),
            )
        )
        session.commit()
    assert login(client, "4821 0937 5512 6604 7310").status_code == 303
    assert client.get("/source").status_code == 200


# --- item 7: size limits stated; an empty file -------------------------------------------


@pytest.mark.parametrize(("tag", "stated"), [("en", "2,147.4 MB"), ("fr", "2\u202f147,4 Mo")])
def test_the_form_states_the_size_limits(client: FlaskClient, tag: str, stated: str) -> None:
    html = client.get(f"/?lang={tag}").get_data(as_text=True)
    assert stated in html  # 2 GiB, per file and in all by default


def test_an_empty_file_is_kept_and_the_source_told(
    app: Flask, client: FlaskClient, admin_keys
) -> None:  # type: ignore[no-untyped-def]
    parts = submission_parts(csrf_token(client), files=[(b"export.mp4", b""), (b"ok.jpg", b"x")])
    response = post_parts(client, parts)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    receipt_of(response.data)
    assert "Some files arrived empty (0 bytes): 1." in html
    files = {
        meta["filename"]: content
        for meta, content in open_envelopes(app, Opener([admin_keys.recipient]))
        if meta["kind"] == "file"
    }
    assert files == {"export.mp4": b"", "ok.jpg": b"x"}  # nothing lost, its name kept


def test_an_empty_file_in_a_follow_up_is_told_too(app: Flask, client: FlaskClient) -> None:
    login(client, submit(client))
    parts = [
        Part(b"csrf_token", csrf_token(client, "/source").encode()),
        Part(b"website", b""),
        Part(b"narrative", b""),
        Part(b"files", b"", b"empty.pdf"),
    ]
    sent = post_parts(client, parts, "/source/submit")
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Some files arrived empty (0 bytes): 1." in page


# --- item 8: format controls in file names -----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "photo\u202egpj.exe",  # RIGHT-TO-LEFT OVERRIDE: shows as "photoexe.jpg"
        "report\u200b.pdf",  # ZERO WIDTH SPACE
        "a\u2066b\u2069.jpg",  # isolates
        "\ufeffbom.txt",  # ZERO WIDTH NO-BREAK SPACE
        "line\u2028sep.txt",  # LINE SEPARATOR
        "x\u00ad.doc",  # SOFT HYPHEN (Cf)
    ],
)
def test_a_file_name_with_format_controls_is_refused(
    app: Flask, client: FlaskClient, name: str
) -> None:
    parts = submission_parts(csrf_token(client), files=[(name.encode(), b"content")])
    response = post_parts(client, parts)
    assert response.status_code == 400
    assert str(messages.INVISIBLE_FILENAME).encode() in response.data
    assert nothing_stored(app)


def test_ordinary_names_in_every_script_are_accepted(app: Flask, client: FlaskClient) -> None:
    names = ["证据.pdf", "ئىسپات.jpg", "བདེན་དཔང.png", "preuve déjà.doc"]
    parts = submission_parts(csrf_token(client), files=[(n.encode(), b"x") for n in names])
    assert post_parts(client, parts).status_code == 200


def test_a_follow_up_after_the_session_ended_shows_the_message_to_copy(
    app: Flask, client: FlaskClient
) -> None:
    """New Identity drops the receipt session too: nothing is sent, nothing is sealed, and
    the message comes back to copy once the source has logged in again."""
    login(client, submit(client))
    parts = [
        Part(b"csrf_token", csrf_token(client, "/source").encode()),
        Part(b"website", b""),
        Part(b"narrative", "a long follow-up 后续 <i>not markup</i>".encode()),
        Part(b"files", b"file bytes", b"more.jpg"),
    ]
    after_new_identity = app.test_client()
    response = post_parts(after_new_identity, parts, "/source/submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Your session has ended" in html
    assert "a long follow-up 后续 &lt;i&gt;not markup&lt;/i&gt;</textarea>" in html
    assert "Files must be chosen again" in html
    assert stored(app).envelopes == 1  # only the first submission


@pytest.mark.parametrize("tag", [language.tag for language in LANGUAGES])
def test_the_new_pages_and_messages_read_in_every_language(
    app: Flask, client: FlaskClient, admin_keys, tag: str
) -> None:  # type: ignore[no-untyped-def]
    q = f"?lang={tag}"
    parts = submission_parts(csrf_token(client, "/" + q), files=[(b"empty.mp4", b"")])
    receipt_page = post_parts(client, parts, "/submit" + q).get_data(as_text=True)
    receipt = re.search(r'<bdi dir="ltr">([0-9 ]{29})</bdi>', receipt_page).group(1)  # type: ignore[union-attr]
    pages = {"receipt with an empty file": receipt_page}
    pages["landing with limits"] = client.get("/" + q).get_data(as_text=True)
    expired = submission_parts("expired", narrative="123", files=[(b"a.jpg", b"1")])
    pages["expired form"] = post_parts(app.test_client(), expired, "/submit" + q).get_data(
        as_text=True
    )
    digits = receipt.replace(" ", "")
    typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    token = csrf_token(client, "/login" + q)
    pages["typo"] = client.post("/login" + q, data={"csrf_token": token, "receipt": typo}).get_data(
        as_text=True
    )
    bad = submission_parts(csrf_token(client, "/" + q), files=[("a\u202eb.jpg".encode(), b"1")])
    pages["disguised name"] = post_parts(client, bad, "/submit" + q).get_data(as_text=True)
    token = csrf_token(client, "/login" + q)
    client.post("/login" + q, data={"csrf_token": token, "receipt": receipt})
    _reply_to_source(app, admin_keys, "123 456")
    home = client.get("/source" + q).get_data(as_text=True)
    pages["answers"] = home
    link = re.search(r'href="(/source/replies/[0-9a-f]{32}/delete[^"]*)"', home).group(1)  # type: ignore[union-attr]
    pages["confirm delete"] = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    follow = [Part(b"csrf_token", b"t"), Part(b"narrative", b"123")]
    pages["session ended"] = post_parts(app.test_client(), follow, "/source/submit" + q).get_data(
        as_text=True
    )
    for name, html in pages.items():
        page = read_page(html)
        assert page.html_lang == tag, name
        assert script_problems(tag, page) == [], (tag, name)
