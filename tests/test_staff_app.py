"""The staff app through Flask's test client: login (Argon2id password + TOTP, throttled,
codes never accepted twice), CSRF, headers, host guard, the streamed download, reply and
ack uploads, and that the source app routes none of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from intake_support import submit
from nacl.signing import SigningKey
from source_form import multipart
from sqlalchemy import select
from staff_support import StaffMember, add_staff, log_in, post_login, token
from transfer_support import ack, open_bundle, reply_bundle, reply_statement, state_of

from intake import create_staff_app
from intake.config import load_config
from intake.headers import SECURITY_HEADERS
from intake.instance import load_instance_signing_key
from intake.models import EXPORTED, PENDING, StaffAccount, StaffAudit, StaffLoginThrottle
from intake.staff.accounts import FREE_FAILURES
from intake.staff.views import REPLAYED_CODE, UNKNOWN_NAME, WRONG_LOGIN


@pytest.fixture
def staff_app(instance: Path) -> Iterator[Flask]:
    """The staff app of the `instance` fixture."""
    application = create_staff_app(load_config(instance))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop_staff"].engine.dispose()


@pytest.fixture
def staff(staff_app: Flask) -> FlaskClient:
    """A browser on the staff app."""
    return staff_app.test_client()


@pytest.fixture
def member(instance: Path, argon2_cost) -> StaffMember:  # type: ignore[no-untyped-def]
    """One staff account, as `sealdrop staff add` made it."""
    return add_staff(instance, "amina", argon2_cost)


def _account(staff_app: Flask, name: str = "amina") -> StaffAccount:
    with staff_app.extensions["sealdrop_staff"].sessions() as db:
        account = db.scalar(select(StaffAccount).where(StaffAccount.name == name))
        assert account is not None
        return account


def _throttle(staff_app: Flask, name: str = "amina") -> StaffLoginThrottle:
    """The failures counted for a name (the row is keyed by a tag of it, not the name)."""
    state = staff_app.extensions["sealdrop_staff"]
    with state.sessions() as db:
        row = db.get(StaffLoginThrottle, state.staff_key.name_tag(name))
        return row if row is not None else StaffLoginThrottle(failures=0, locked_until=0)


def _audit(staff_app: Flask) -> list[tuple[str, str, str]]:
    with staff_app.extensions["sealdrop_staff"].sessions() as db:
        return [(a.actor, a.action, a.detail) for a in db.scalars(select(StaffAudit))]


def _locked_out(staff: FlaskClient) -> bool:
    return staff.get("/staff/").status_code == 303


# --- login ----------------------------------------------------------------------------


def test_login_needs_password_and_code_then_a_new_password(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    assert staff.get("/staff/").headers["Location"].endswith("/staff/login")
    response = post_login(staff, member.name, member.password, member.code())
    assert response.status_code == 303
    # The one-time password must be replaced before anything else.
    assert staff.get("/staff/").headers["Location"].endswith("/staff/password")
    assert (
        staff.post(
            "/staff/export", data={"csrf_token": token(staff, "/staff/password")}
        ).status_code
        == 303
    )
    short = {
        "csrf_token": token(staff, "/staff/password"),
        "current_password": member.password,
        "new_password": "short",
        "new_password_again": "short",
    }
    refused = staff.post("/staff/password", data=short)
    assert refused.status_code == 400
    assert b"at least 12 characters" in refused.data
    same = {**short, "new_password": member.password, "new_password_again": member.password}
    refused = staff.post("/staff/password", data=same)
    assert b"different from the current one" in refused.data
    good = {
        **short,
        "new_password": "a long new passphrase",
        "new_password_again": "a long new passphrase",
    }
    assert staff.post("/staff/password", data=good).status_code == 303
    page = staff.get("/staff/")
    assert page.status_code == 200
    assert b"Pending (never exported)" in page.data
    assert not _account(staff_app).must_change_password
    assert [a[:2] for a in _audit(staff_app)] == [("amina", "login"), ("amina", "password-change")]


@pytest.mark.parametrize("wrong", ["password", "code", "name"])
def test_a_wrong_password_code_or_name_is_refused_with_one_message(
    staff: FlaskClient, staff_app: Flask, member: StaffMember, wrong: str
) -> None:
    name, password, code = member.name, member.password, member.code()
    if wrong == "password":
        password = password + "x"
    elif wrong == "code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    else:
        name = "nobody"
    response = post_login(staff, name, password, code)
    assert response.status_code == 401
    assert WRONG_LOGIN.encode() in response.data
    assert _locked_out(staff)
    # Counted under the name tried, whether an account has it or not.
    assert _throttle(staff_app, name).failures == 1
    actor = UNKNOWN_NAME if wrong == "name" else "amina"
    assert _audit(staff_app) == [(actor, "login-failed", "wrong name, password or code")]


def test_a_totp_code_is_never_accepted_twice(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    code = member.code()
    assert post_login(staff, member.name, member.password, code).status_code == 303
    other = staff_app.test_client()  # someone who saw the code, with the password too
    replay = post_login(other, member.name, member.password, code)
    assert replay.status_code == 401
    assert REPLAYED_CODE.encode() in replay.data
    assert _locked_out(other)
    # An older code (the step before) is refused too, once a newer one was used.
    older = member.code(-1)
    assert post_login(other, member.name, member.password, older).status_code == 401
    # The next code works.
    assert post_login(other, member.name, member.password, member.code(1)).status_code == 303


def test_failures_lock_the_account_with_a_growing_wait(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    for _ in range(FREE_FAILURES):
        assert post_login(staff, member.name, "wrong", "000000").status_code == 401
    assert _throttle(staff_app).locked_until == 0
    assert post_login(staff, member.name, "wrong", "000000").status_code == 401
    first = _throttle(staff_app).locked_until - time.time()
    assert 0 < first <= 2
    # Even the right password and code are refused while the account waits.
    response = post_login(staff, member.name, member.password, member.code())
    assert response.status_code == 429
    assert b"Too many failed attempts for this account. Try again in" in response.data
    assert _locked_out(staff)
    time.sleep(first + 0.1)
    assert post_login(staff, member.name, "wrong", "000000").status_code == 401
    second = _throttle(staff_app).locked_until - time.time()
    assert second > first  # 2 s, then 4 s ...
    time.sleep(second + 0.1)
    assert post_login(staff, member.name, member.password, member.code()).status_code == 303
    assert _throttle(staff_app).failures == 0


def test_a_post_without_csrf_token_is_refused(staff: FlaskClient, member: StaffMember) -> None:
    data = {"name": member.name, "password": member.password, "code": member.code()}
    response = staff.post("/staff/login", data=data)
    assert response.status_code == 400
    assert b"The form expired or did not come from this site" in response.data
    assert _locked_out(staff)


def test_logout_kills_every_copy_of_the_cookie(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    log_in(staff, member)
    copied = staff.get_cookie("sd_staff")
    assert copied is not None
    thief = staff_app.test_client()
    thief.set_cookie("sd_staff", copied.value)
    assert thief.get("/staff/").status_code == 200
    assert (
        staff.post("/staff/logout", data={"csrf_token": token(staff, "/staff/")}).status_code == 303
    )
    assert _locked_out(staff)
    assert _locked_out(thief)


def test_the_staff_cookie_holds_only_an_account_id_a_nonce_and_an_expiry(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    log_in(staff, member)
    cookie = staff.get_cookie("sd_staff")
    assert cookie is not None
    serializer = staff_app.session_interface.get_signing_serializer(staff_app)  # type: ignore[attr-defined]
    content = serializer.loads(cookie.value)
    assert set(content) <= {"staff", "nonce", "exp", "csrf_token"}
    assert content["exp"] - time.time() <= 4 * 3600
    assert cookie.http_only
    assert cookie.same_site == "Strict"


def test_an_expired_session_is_refused(
    staff: FlaskClient, staff_app: Flask, member: StaffMember
) -> None:
    log_in(staff, member)
    with staff.session_transaction() as session:
        session["exp"] = int(time.time()) - 1
    assert _locked_out(staff)


def test_a_removed_account_is_logged_out_at_once(
    staff: FlaskClient, staff_app: Flask, member: StaffMember, instance: Path
) -> None:
    from transfer_support import sealdrop

    log_in(staff, member)
    assert sealdrop("staff", "remove", "--instance", str(instance), "amina").exit_code == 0
    assert _locked_out(staff)


# --- what every response carries ------------------------------------------------------


def test_every_staff_response_has_the_strict_headers(
    staff: FlaskClient, member: StaffMember
) -> None:
    responses = [staff.get("/staff/login"), staff.get("/"), staff.get("/staff/nothing")]
    responses.append(staff.post("/staff/login", data={}))
    log_in(staff, member)
    responses.append(staff.get("/staff/"))
    responses.append(staff.get("/staff/style.css"))
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)
        for name in ("ETag", "Server", "Last-Modified"):
            assert name not in response.headers


def test_the_host_guard_answers_for_loopback_only_and_refuses_tor2web(
    staff: FlaskClient,
) -> None:
    assert staff.get("/staff/login", headers={"Host": "evil.example"}).status_code == 400
    assert staff.get("/staff/login", headers={"X-Tor2web": "1"}).status_code == 403


def test_the_source_app_routes_no_staff_page(staff_app: Flask, client: FlaskClient) -> None:
    rules = [rule for rule in staff_app.url_map.iter_rules() if rule.rule != "/"]
    assert len(rules) >= 8
    for rule in rules:
        path = rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            response = client.open(path, method=method)
            assert response.status_code == 404, (method, path, response.status_code)
    # "/" is the source landing page there, never the staff login.
    assert b"Staff login" not in client.get("/").data


def test_without_the_admin_identity_every_staff_page_answers_503(instance: Path) -> None:
    (instance / "admin-identity.pub").unlink()
    application = create_staff_app(load_config(instance))
    try:
        response = application.test_client().get("/staff/login")
        assert response.status_code == 503
        assert b"admin identity of this instance is missing" in response.data
    finally:
        application.extensions["sealdrop_staff"].engine.dispose()


# --- transfer -------------------------------------------------------------------------


@pytest.fixture
def logged_in(staff: FlaskClient, member: StaffMember) -> FlaskClient:
    """A staff browser, logged in with its own password."""
    log_in(staff, member)
    return staff


def test_the_page_shows_counts_and_sizes(
    app: Flask, client: FlaskClient, logged_in: FlaskClient
) -> None:
    submit(client, narrative="a tip", files=[(b"a.jpg", b"x" * 5000)])
    page = logged_in.get("/staff/").data.decode()
    size = sum(
        p.stat().st_size for p in app.extensions["sealdrop"].config.storage_dir.glob("*.sealed")
    )
    assert "2 envelopes" in page
    assert f"{size / 1024:.1f} KiB" in page


def test_download_streams_a_bundle_and_marks_envelopes_exported_when_complete(
    app: Flask, client: FlaskClient, logged_in: FlaskClient, instance: Path, admin_keys, staff_app
) -> None:
    submit(client, narrative="one")
    submit(client, narrative="two", files=[(b"f.bin", b"data")])
    response = logged_in.post("/staff/export", data={"csrf_token": token(logged_in, "/staff/")})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert int(response.headers["Content-Length"]) == len(response.data)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    key = load_instance_signing_key(load_config(instance)).verify_key
    bundle = open_bundle(response.data, admin_keys, key)
    assert sorted(bundle.contents) == [b"data", b"one", b"two"]
    assert set(state_of(app).envelopes.values()) == {EXPORTED}
    assert ("amina", "export", "3 envelope(s)") in _audit(staff_app)
    again = logged_in.post("/staff/export", data={"csrf_token": token(logged_in, "/staff/")})
    assert b"Nothing to download: no pending envelopes." in again.data
    resent = logged_in.post(
        "/staff/export",
        data={"csrf_token": token(logged_in, "/staff/"), "include_exported": "1"},
    )
    assert sorted(open_bundle(resent.data, admin_keys, key).envelope_ids) == sorted(
        bundle.envelope_ids
    )


def test_an_interrupted_download_leaves_the_envelopes_pending(
    app: Flask, client: FlaskClient, logged_in: FlaskClient
) -> None:
    submit(client, narrative="one", files=[(b"big.bin", b"y" * (3 * 1024 * 1024))])
    response = logged_in.post(
        "/staff/export", data={"csrf_token": token(logged_in, "/staff/")}, buffered=False
    )
    chunks = iter(response.response)
    next(chunks)
    next(chunks)
    response.close()  # the browser went away
    assert set(state_of(app).envelopes.values()) == {PENDING}


def _exported(logged_in: FlaskClient, instance: Path, admin_keys):  # type: ignore[no-untyped-def]
    response = logged_in.post("/staff/export", data={"csrf_token": token(logged_in, "/staff/")})
    key = load_instance_signing_key(load_config(instance)).verify_key
    return open_bundle(response.data, admin_keys, key)


def _upload(logged_in: FlaskClient, path: str, field: str, data: bytes):  # type: ignore[no-untyped-def]
    import io

    form = {"csrf_token": token(logged_in, "/staff/"), field: (io.BytesIO(data), "upload.bin")}
    return logged_in.post(path, data=form, content_type="multipart/form-data")


def test_upload_replies_then_ack(
    app: Flask, client: FlaskClient, logged_in: FlaskClient, instance: Path, admin_keys, staff_app
) -> None:
    submit(client, narrative="one")
    bundle = _exported(logged_in, instance, admin_keys)
    statement = reply_statement(admin_keys.signing, bundle.instance_id, bundle.metadata[0], "hi")
    response = _upload(logged_in, "/staff/replies", "bundle", reply_bundle([statement]))
    assert response.status_code == 200
    assert b"Stored 1 new reply." in response.data
    again = _upload(logged_in, "/staff/replies", "bundle", reply_bundle([statement]))
    assert b"Nothing new: the reply was already stored." in again.data
    response = _upload(
        logged_in,
        "/staff/ack",
        "ack",
        ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids),
    )
    assert response.status_code == 200
    assert b"Deleted 1 envelope; 0 were already gone." in response.data
    assert state_of(app).envelopes == {}
    assert state_of(app).files == []
    # The audit says who, what and which day: never a source or envelope id.
    for _actor, _action, detail in _audit(staff_app):
        assert bundle.envelope_ids[0] not in detail
        assert bundle.metadata[0]["source_id"] not in detail


@pytest.mark.parametrize(
    "bad", ["one bad signature", "unknown source", "truncated", "another instance"]
)
def test_a_bad_reply_bundle_upload_stores_nothing(
    app: Flask, client: FlaskClient, logged_in: FlaskClient, instance: Path, admin_keys, bad: str
) -> None:
    submit(client, narrative="one")
    bundle = _exported(logged_in, instance, admin_keys)
    meta = bundle.metadata[0]
    good = reply_statement(admin_keys.signing, bundle.instance_id, meta, "good")
    data, message = {
        "one bad signature": (
            reply_bundle(
                [good, reply_statement(SigningKey.generate(), bundle.instance_id, meta, "x")]
            ),
            b"reply 2 of 2: signed by a different key",
        ),
        "unknown source": (
            reply_bundle(
                [
                    good,
                    reply_statement(
                        admin_keys.signing,
                        bundle.instance_id,
                        {**meta, "source_id": "ab" * 32},
                        "x",
                    ),
                ]
            ),
            b"which this instance does not know",
        ),
        "truncated": (reply_bundle([good, good.replace(b"good", b"gooe")])[:-30], b"truncated"),
        "another instance": (
            reply_bundle([reply_statement(admin_keys.signing, "cd" * 16, meta, "x")]),
            b"made for another instance",
        ),
    }[bad]
    before = state_of(app)
    response = _upload(logged_in, "/staff/replies", "bundle", data)
    assert response.status_code == 400
    assert b"reply bundle refused" in response.data
    assert message in response.data
    assert b"Nothing was stored." in response.data
    assert state_of(app) == before


@pytest.mark.parametrize("bad", ["another key", "another instance", "truncated"])
def test_a_bad_ack_upload_deletes_nothing(
    app: Flask, client: FlaskClient, logged_in: FlaskClient, instance: Path, admin_keys, bad: str
) -> None:
    submit(client, narrative="one")
    bundle = _exported(logged_in, instance, admin_keys)
    ids = bundle.envelope_ids
    data, message = {
        "another key": (
            ack(SigningKey.generate(), bundle.instance_id, ids),
            b"signed by a different key",
        ),
        "another instance": (ack(admin_keys.signing, "ef" * 16, ids), b"made for another instance"),
        "truncated": (ack(admin_keys.signing, bundle.instance_id, ids)[:-5], b"ack refused"),
    }[bad]
    before = state_of(app)
    response = _upload(logged_in, "/staff/ack", "ack", data)
    assert response.status_code == 400
    assert message in response.data
    assert b"Nothing was deleted." in response.data
    assert state_of(app) == before


def test_an_upload_without_a_file_or_too_large_is_refused(
    app: Flask, logged_in: FlaskClient, staff_app: Flask
) -> None:
    import io

    form = {"csrf_token": token(logged_in, "/staff/")}
    response = logged_in.post("/staff/replies", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert b"Choose a reply bundle file to upload." in response.data
    staff_app.config["MAX_CONTENT_LENGTH"] = 1024
    form = {"csrf_token": token(logged_in, "/staff/"), "bundle": (io.BytesIO(b"x" * 4096), "b")}
    response = logged_in.post("/staff/replies", data=form, content_type="multipart/form-data")
    assert response.status_code == 413
    assert b"too large for a reply bundle or an ack" in response.data


def test_password_checks_beyond_the_bound_get_a_busy_page(
    instance: Path, member: StaffMember
) -> None:
    from contextlib import ExitStack

    from intake.staff.views import BUSY

    config = instance / "config.toml"
    text = config.read_text()
    text = text.replace("max_concurrent_derivations = 4", "max_concurrent_derivations = 2")
    config.write_text(
        text.replace("derivation_wait_seconds = 10.0", "derivation_wait_seconds = 0.2")
    )
    application = create_staff_app(load_config(instance))
    try:
        browser = application.test_client()
        gate = application.extensions["sealdrop_staff"].gate
        with ExitStack() as held:
            for _ in range(2):  # every slot busy with other logins
                held.enter_context(gate.slot())
            response = post_login(browser, member.name, member.password, member.code())
        assert response.status_code == 503
        assert BUSY.encode() in response.data
        assert _throttle(application).failures == 0  # nothing was checked
        assert post_login(browser, member.name, member.password, member.code()).status_code == 303
    finally:
        application.extensions["sealdrop_staff"].engine.dispose()


def test_a_large_upload_is_never_spooled_to_a_temporary_file(
    app: Flask,
    client: FlaskClient,
    logged_in: FlaskClient,
    instance: Path,
    admin_keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import werkzeug.wrappers.request

    def spool(**_kwargs: object) -> None:
        raise AssertionError("an upload went to Werkzeug's spooled temporary file")

    # Werkzeug spools uploads over 500 KiB to a temporary file; the staff app never does.
    monkeypatch.setattr(werkzeug.wrappers.request, "default_stream_factory", spool)
    submit(client, narrative="one")
    bundle = _exported(logged_in, instance, admin_keys)
    statements = [
        reply_statement(admin_keys.signing, bundle.instance_id, bundle.metadata[0], "x" * 60_000)
        for _ in range(12)
    ]
    data = reply_bundle(statements)
    assert len(data) > 700 * 1024
    # A body encoded here: the test client would spool a large dict body to a file itself.
    content_type, body = multipart(
        [("csrf_token", token(logged_in, "/staff/")), ("bundle", ("replies.sdr", data))]
    )
    response = logged_in.post("/staff/replies", data=body, content_type=content_type)
    assert response.status_code == 200, response.data[-500:]
    assert b"Stored 12 new replies." in response.data


def test_a_reply_bundle_survives_every_read_boundary_near_its_end(
    app: Flask, client: FlaskClient, logged_in: FlaskClient, instance: Path, admin_keys
) -> None:
    """Werkzeug's multipart decoder adds a stray CR to the last part when a 64 KiB read
    ends inside the closing delimiter (pallets/werkzeug#3285): the same bundle would then
    be refused every time it is uploaded. Each shift of a padding field puts the read
    boundary at another byte of the bundle's end and of the delimiter after it."""
    submit(client, narrative="one")
    bundle = _exported(logged_in, instance, admin_keys)
    statement = reply_statement(admin_keys.signing, bundle.instance_id, bundle.metadata[0], "hi")
    data = reply_bundle([statement])
    csrf = token(logged_in, "/staff/")
    _, unpadded = multipart([("pad", ""), ("csrf_token", csrf), ("bundle", ("r.sdr", data))])
    boundary_line = unpadded.index(b"\r\n", 2)  # "--" + boundary
    closing = len(unpadded) - (boundary_line + 6)  # where "\r\n--boundary--\r\n" starts
    refused = []
    for shift in range(-8, boundary_line + 8):
        pad = "p" * ((64 * 1024 - closing - shift) % (64 * 1024))
        content_type, body = multipart(
            [("pad", pad), ("csrf_token", csrf), ("bundle", ("r.sdr", data))]
        )
        response = logged_in.post("/staff/replies", data=body, content_type=content_type)
        if response.status_code != 200:
            refused.append((shift, response.status_code))
    assert refused == []


def test_a_malformed_or_overlong_upload_form_is_refused(logged_in: FlaskClient) -> None:
    csrf = token(logged_in, "/staff/")
    content_type, body = multipart([("csrf_token", csrf), ("bundle", ("r.sdr", b"data"))])
    # Bare LF line breaks: not multipart as browsers send it; no form, so no CSRF token.
    response = logged_in.post(
        "/staff/replies", data=body.replace(b"\r\n", b"\n"), content_type=content_type
    )
    assert response.status_code == 400
    assert b"Choose a reply bundle file" not in response.data
    content_type, body = multipart([("csrf_token", csrf)] + [("x", "y")] * 40)
    assert logged_in.post("/staff/replies", data=body, content_type=content_type).status_code == 413
    content_type, body = multipart([("csrf_token", csrf), ("note", "n" * 200_000)])
    assert logged_in.post("/staff/replies", data=body, content_type=content_type).status_code == 413
