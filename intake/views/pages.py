"""The landing page with the submission form."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..state import state

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Who runs this, what happens to a tip, safety advice, and the form."""
    app_state = state()
    return render_template(
        "index.html",
        questionnaire=app_state.questionnaire,
        limits=app_state.config.limits,
        site=app_state.config.site,
    )
