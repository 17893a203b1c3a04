"""Inbox, source conversation, attachments and search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from crypto.errors import CryptoError

from .. import casework, custody, flags, replies, sources, tips
from ..content import looks_like_image, read_small, safe_filename, suffix_of
from ..errors import AdminError
from ..inbox import STATUSES, InboxFilter, inbox_page, languages
from ..metadata import image_metadata
from ..previews import NoPreview, make_preview, preview_kind
from ..questions import labelled
from ..vault import row_dict
from .i18n import INBOX_STATUS_WORDS
from .web import done, save, vault

bp = Blueprint("triage", __name__)
_SOURCE_ID = re.compile(r"\A[0-9a-f]{64}\Z")
_ENVELOPE_ID = re.compile(r"\A[0-9a-f]{32}\Z")


def _source_id(text: str) -> str:
    if not _SOURCE_ID.match(text):
        abort(404)
    return text


@bp.get("/")
def inbox() -> str:
    """New and unread first, newest first, filtered, one page at a time."""
    args = request.args
    status = args.get("status", "all")
    wanted = InboxFilter(
        language=args.get("language", ""),
        status=status if status in STATUSES else "all",
        with_files=args.get("files") == "1",
        day=args.get("day", "").strip(),
    )
    page = inbox_page(vault(), wanted, args.get("after"))
    filters = {
        "language": wanted.language,
        "status": wanted.status,
        "files": "1" if wanted.with_files else "",
        "day": wanted.day,
    }
    kept: dict[str, Any] = {k: v for k, v in filters.items() if v}
    next_url = url_for(".inbox", after=page.next_cursor, **kept) if page.next_cursor else None
    return render_template(
        "inbox.html",
        page=page,
        wanted=wanted,
        tip_languages=languages(vault()),
        statuses=[(s, INBOX_STATUS_WORDS[s]) for s in STATUSES],
        cases=casework.open_cases(vault()),
        next_url=next_url,
        first_page=bool(args.get("after")),
    )


def _preview(envelope: dict[str, Any]) -> bytes:
    """The attachment's preview PNG, made in the sandbox once per run."""
    cache: dict[str, bytes | str] = current_app.extensions.setdefault("sealdrop_previews", {})
    eid = envelope["envelope_id"]
    if eid not in cache:
        try:
            cache[eid] = make_preview(vault(), envelope)
        except (NoPreview, AdminError) as exc:
            cache[eid] = str(exc)
    found = cache[eid]
    if isinstance(found, str):
        raise NoPreview(found)
    return found


def _file_facts(envelope: dict[str, Any]) -> dict[str, Any]:
    """Type, size, hash, the photo metadata that matters for verification, the preview."""
    facts = dict(envelope)
    facts["image"], facts["problem"] = None, None
    facts["preview"], facts["no_preview"] = False, None
    if preview_kind(envelope) is not None:
        try:
            _preview(envelope)
            facts["preview"] = True
        except NoPreview as exc:
            facts["no_preview"] = str(exc)
    if looks_like_image(envelope):
        try:
            data = read_small(vault(), envelope)
        except AdminError as exc:
            facts["problem"] = exc.message
        else:
            if data is not None:
                facts["image"], why = image_metadata(data, suffix_of(envelope))
                facts["problem"] = why or None
    return facts


@bp.get("/source/<source_id>")
def source(source_id: str) -> str:
    """One conversation: every tip, follow-up and reply in time order; viewing is logged."""
    talk = sources.conversation(vault(), _source_id(source_id))
    for item in talk["items"]:
        if item["kind"] == "tip":
            tip = item["tip"]
            tip["labelled"] = labelled(tip["answers"])
            tip["files"] = [_file_facts(f) for f in tip["files"]]
            custody.append(vault().db, vault().actor, "view", f"tip:{tip['tip']}")
    save()
    return render_template("source.html", talk=talk, cases=casework.open_cases(vault()))


@bp.post("/source/<source_id>/read")
def mark_read(source_id: str) -> Response:
    """Mark every tip of the source read, or unread again."""
    talk_tips = sources.conversation(vault(), _source_id(source_id))["tips"]
    read = request.form.get("read") == "1"
    flags.mark_read(vault(), talk_tips, read)
    return done(
        _("Marked read.") if read else _("Marked unread."), url_for(".source", source_id=source_id)
    )


@bp.post("/source/<source_id>/star")
def star(source_id: str) -> Response:
    """Star or unstar the source."""
    sources.get_source(vault(), _source_id(source_id))
    starred = request.form.get("star") == "1"
    flags.set_star(vault(), source_id, starred)
    return done(
        _("Starred.") if starred else _("Star removed."), url_for(".source", source_id=source_id)
    )


@bp.post("/source/<source_id>/reply")
def reply(source_id: str) -> Response:
    """Sign and queue a reply, exactly as `sealdrop-admin reply` does."""
    made = replies.make(vault(), _source_id(source_id), request.form.get("text", ""))
    return done(
        _("Reply %(reply)s saved: it is sent with the next reply export.", reply=made["reply"][:8]),
        url_for(".source", source_id=source_id) + "#replies",
    )


def _envelope(envelope_id: str) -> dict[str, Any]:
    if not _ENVELOPE_ID.match(envelope_id):
        abort(404)
    row = (
        vault()
        .db.execute(
            "SELECT * FROM envelopes WHERE envelope_id = ? AND kind = 'file'", (envelope_id,)
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    return row_dict(row)


@bp.get("/file/<envelope_id>")
def attachment(envelope_id: str) -> str:
    """An attachment's facts; the original only as a download."""
    facts = _file_facts(_envelope(envelope_id))
    tip = tips.get_tip(vault(), facts["tip_id"])
    return render_template("file.html", f=facts, tip=tip)


@bp.get("/file/<envelope_id>/preview.png")
def preview(envelope_id: str) -> Response:
    """The preview, a PNG built from pixels the sandbox returned."""
    try:
        png = _preview(_envelope(envelope_id))
    except NoPreview:
        abort(404)
    return Response(png, mimetype="image/png")


@bp.post("/file/<envelope_id>/download")
def download(envelope_id: str) -> Response:
    """The original as application/octet-stream, never for the browser to interpret."""
    envelope = _envelope(envelope_id)
    custody.append(
        vault().db,
        vault().actor,
        "download",
        f"tip:{envelope['tip_id']}",
        envelope_id=envelope_id,
        sha256=envelope["sha256"],
    )
    save()
    # Characters that mean something to a shell, HTML or Windows are not kept in the name.
    name = re.sub(
        r'[<>:"|?*&;$`\\]', "_", safe_filename(envelope["filename"] or "", f"{envelope_id}.bin")
    )
    store = vault()

    def body() -> Iterator[bytes]:
        # finish() checks the stored copy's authentication and SHA-256 at the end: a
        # damaged copy ends the download with an error instead of completing it.
        try:
            with store.content_reader(envelope_id) as reader:
                while block := reader.read():
                    yield block
                reader.finish()
        except CryptoError as exc:
            raise AdminError(f"the stored copy of {envelope_id} is damaged ({exc}).") from exc

    response = Response(body(), mimetype="application/octet-stream")
    # An ASCII fallback and the real name in RFC 5987 form: headers are Latin-1 only.
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["Content-Length"] = str(envelope["size"])
    return response


@bp.get("/search")
def search() -> str:
    """Narratives and answers; Chinese 1- and 2-character queries too. Searches are logged."""
    query = request.args.get("q", "").strip()
    before = request.args.get("before", "")
    hits: list[dict[str, Any]] = []
    older: int | None = None
    if query:
        found = tips.search_page(
            vault(), query, before=int(before) if before.isdigit() and len(before) < 19 else None
        )
        hits, older = found["hits"], found["next_before"]
        for hit in hits:
            tip = tips.get_tip(vault(), hit["tip"])
            hit["source"] = tip["source_id"]
            hit["received"] = tip["received"]
            hit["language"] = tip["language"]
        save()
    return render_template(
        "search.html", query=query, hits=hits, older=older, cases=casework.open_cases(vault())
    )
