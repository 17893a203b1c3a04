"""Transfer (import a bundle, the ack, export replies) and the custody log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request, stream_template
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from .. import custody, replies, transfer
from ..errors import AdminError
from ..importer import check_instance, import_bundle, scan_bundle
from .progress import run_with_progress
from .web import save, vault

bp = Blueprint("transfer", __name__)
LOG_PAGE = 50


@bp.get("/transfer")
def transfer_page() -> str:
    """Import, ack and reply export forms."""
    return render_template("transfer.html", pending=len(replies.pending(vault())))


def _path(field: str, required: bool = True) -> Path | None:
    text = request.form.get(field, "").strip()
    if not text:
        if required:
            raise AdminError(_("Give the full path of the file, e.g. /media/usb/bundle.sdb."))
        return None
    path = Path(text)
    if not path.is_absolute():
        raise AdminError(_("Give the full path of the file, e.g. /media/usb/bundle.sdb."))
    return path


@bp.post("/transfer/import")
def import_page() -> Response | str:
    """Check the bundle; ask for the fingerprint check when the server is new; import."""
    bundle = _path("bundle")
    assert bundle is not None
    ack = _path("ack", required=False)
    if ack is not None:
        transfer.check_ack_target(ack)
    manifest = scan_bundle(bundle)
    standing = transfer.instance_standing(vault(), manifest)
    confirmed = request.form.get("fingerprint_matches") == "1"
    if standing != "known" and not confirmed:
        return render_template(
            "transfer_check.html",
            standing=standing,
            fingerprint=transfer.bundle_fingerprint(manifest),
            instance_id=manifest.instance_id,
            bundle=str(bundle),
            ack=str(ack) if ack else "",
        )
    total = bundle.stat().st_size  # the import's progress counts bundle bytes
    store = vault()  # the work runs in a greenlet, outside the app context

    def work(advance: Any) -> dict[str, Any]:
        new_instance = check_instance(store, manifest, trust_new=confirmed)
        result = import_bundle(store, bundle, manifest, new_instance, advance)
        ack_written = None
        if ack is not None and result.in_vault and result.stopped is None:
            transfer.write_ack(store, manifest.instance_id, result.in_vault, ack)
            save(store)
            ack_written = str(ack)
        return {"result": result, "ack": ack_written}

    def steps() -> Iterator[Any]:
        for step in run_with_progress(work, total):
            if step.finished and step.error is not None:
                store.db.rollback()
            yield step

    return Response(
        stream_template("import_progress.html", steps=steps(), bundle=bundle),
        mimetype="text/html",
    )


@bp.post("/transfer/replies")
def export_replies() -> str:
    """Write every unsent reply into a new reply bundle."""
    out = _path("out")
    assert out is not None
    if out.exists() or out.is_symlink():
        raise AdminError(_("%(path)s already exists: choose a new file.", path=str(out)))
    ids = replies.export(vault(), out)
    if ids:
        try:
            save()
        except AdminError:
            out.unlink(missing_ok=True)
            raise
    return render_template("replies_done.html", ids=ids, out=str(out))


@bp.get("/custody")
def custody_page() -> str:
    """The log, newest first, a page at a time; verify the chain on request."""
    number = request.args.get("page", "1")
    page = int(number) if number.isdigit() and 0 < int(number) < 10**9 else 1
    db = vault().db
    listing = custody.entries_page(db, page, LOG_PAGE)
    shown_from = listing["total"] - (page - 1) * LOG_PAGE
    older = page + 1 if shown_from > LOG_PAGE else None
    check = mark_problem = expected = None
    if request.args.get("verify") == "1":
        check = custody.verify(db)
        text = request.args.get("expect", "").strip()
        if text:
            try:
                expected = custody.Mark.parse(text)
            except ValueError:
                mark_problem = _("This is not a mark: a mark is SEQ:HASH, as shown below.")
            else:
                if check.first_broken is None:
                    mark_problem = custody.find_mark(db, expected)
    return render_template(
        "custody.html",
        entries=list(reversed(listing["entries"])),  # newest first, like the inbox
        page=page,
        older=older,
        check=check,
        expected=expected,
        mark_problem=mark_problem,
    )
