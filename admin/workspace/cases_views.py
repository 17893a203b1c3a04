"""Cases: the board by status, a case's page, and its export with a progress page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request, stream_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from .. import cases, casework, tips
from ..errors import AdminError
from ..evidence import export_case
from .progress import run_with_progress
from .web import done, save, vault

bp = Blueprint("cases", __name__)


def _case_url(case_id: int) -> str:
    return url_for(".case", case_id=case_id)


@bp.get("/cases")
def board() -> str:
    """Every case under its status."""
    return render_template("cases.html", board=casework.board(vault()))


@bp.post("/cases/new")
def new() -> Response:
    """Open a case, with the tip it was opened from if any."""
    case_id = cases.new_case(vault(), request.form.get("title", ""))
    tip = request.form.get("tip", "").strip()
    if tip:
        cases.add_tip(vault(), case_id, tips.parse_tip_id(tip))
    return done(_("Case C%(case)s opened.", case=case_id), _case_url(case_id))


@bp.get("/case/<int:case_id>")
def case(case_id: int) -> str:
    """A case: its tips, grading, tags, notes and status history."""
    detail = cases.case_detail(vault(), case_id)
    rows = []
    for tip_id in detail["tips"]:
        tip = tips.get_tip(vault(), tip_id)
        rows.append(
            {
                "tip": tip_id,
                "source": tip["source_id"],
                "received": tip["received"],
                "language": tip["language"],
                "first_words": tips.first_words(tip["narrative"]),
            }
        )
    return render_template(
        "case.html",
        case=detail,
        tips=rows,
        statuses=cases.STATUSES,
        reasons=cases.CLOSING_REASONS,
    )


@bp.post("/cases/add")
def add_to_chosen() -> Response:
    """Add tips to the case chosen in the form (from the source page or a search)."""
    return add_tips(cases.parse_case_id(request.form.get("case", "")))


@bp.post("/case/<int:case_id>/tips")
def add_tips(case_id: int) -> Response:
    """Add tips (numbers such as `T12 T13`) to the case."""
    typed = request.form.get("tips", "").replace(",", " ").split()
    wanted = [tips.parse_tip_id(t) for t in [*typed, *request.form.getlist("tip")]]
    if not wanted:
        raise AdminError(_("Give at least one tip number, such as T12."))
    added = [t for t in wanted if cases.add_tip(vault(), case_id, t)]
    message = (
        _(
            "Added to case C%(case)s: %(tips)s.",
            case=case_id,
            tips=", ".join(f"T{t}" for t in added),
        )
        if added
        else _("These tips were already in case C%(case)s.", case=case_id)
    )
    back = request.form.get("back", "")
    return done(
        message, back if back.startswith("/") and not back.startswith("//") else _case_url(case_id)
    )


@bp.post("/case/<int:case_id>/remove")
def remove_tip(case_id: int) -> Response:
    """Take a tip out of the case (the tip stays in the vault)."""
    tip_id = tips.parse_tip_id(request.form.get("tip", ""))
    cases.remove_tip(vault(), case_id, tip_id)
    return done(_("T%(tip)s removed from the case.", tip=tip_id), _case_url(case_id))


@bp.post("/case/<int:case_id>/status")
def status(case_id: int) -> Response:
    """Change the status (closing needs a reason)."""
    reason = request.form.get("reason") or None
    new_status = request.form.get("status", "")
    cases.set_status(vault(), case_id, new_status, reason if new_status == "closed" else None)
    return done(_("Status changed."), _case_url(case_id))


@bp.post("/case/<int:case_id>/grade")
def grade(case_id: int) -> Response:
    """Grade with the Admiralty code, keeping the rationale."""
    code = request.form.get("reliability", "") + request.form.get("credibility", "")
    casework.grade_with_rationale(vault(), case_id, code, request.form.get("rationale", ""))
    return done(_("Graded %(grade)s.", grade=code), _case_url(case_id))


@bp.post("/case/<int:case_id>/note")
def note(case_id: int) -> Response:
    """Add a note."""
    cases.add_note(vault(), case_id, request.form.get("text", ""))
    return done(_("Note added."), _case_url(case_id))


@bp.post("/case/<int:case_id>/tags")
def tag(case_id: int) -> Response:
    """Add tags (comma-separated) or remove one."""
    add = [t.strip() for t in request.form.get("add", "").split(",") if t.strip()]
    remove = [t for t in [request.form.get("remove", "")] if t]
    if not add and not remove:
        raise AdminError(_("Write a tag to add."))
    cases.tag(vault(), case_id, add, remove)
    return done(_("Tags changed."), _case_url(case_id))


@bp.post("/case/<int:case_id>/export")
def export(case_id: int) -> Response:
    """Export the evidence folder; the page shows progress while it is written."""
    detail = cases.case_detail(vault(), case_id)
    out = Path(request.form.get("out", "").strip())
    if not str(out) or not out.is_absolute():
        raise AdminError(_("Give the full path of a new folder, e.g. /media/usb/case-C1."))
    strip = request.form.get("strip") == "1"
    total = casework.export_bytes(vault(), case_id)
    store = vault()  # the work runs in a greenlet, outside the app context

    def work(advance: Any) -> dict[str, Any]:
        summary = export_case(store, case_id, out, strip, advance)
        save(store)
        return summary

    def steps() -> Iterator[Any]:
        for step in run_with_progress(work, total):
            if step.finished and step.error is not None:
                store.db.rollback()
            yield step

    return Response(
        stream_template("export_progress.html", case=detail, steps=steps(), out=out),
        mimetype="text/html",
    )
