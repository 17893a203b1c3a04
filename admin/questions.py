"""Questionnaire answers as people read them: the question's text and the options' labels.

The vault stores answers by id (`place_type: home`). admin/questionnaire.json is a copy of
the intake's default questionnaire (admin never imports intake); the labels are English and
each interface translates them with its own catalogs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

QUESTIONNAIRE = Path(__file__).with_name("questionnaire.json")


@dataclass(frozen=True)
class Answer:
    """One answered question: its label, and the answer as labels or the source's own text."""

    question_id: str
    question: str | None  # None: a question this questionnaire does not know
    labels: tuple[str, ...]  # option labels (choice/multi); translated by the interface
    text: str | None  # free text written by the source (never translated)


@cache
def _questions() -> dict[str, dict[str, Any]]:
    data = json.loads(QUESTIONNAIRE.read_text(encoding="utf-8"))
    return {q["id"]: q for q in data["questions"]}


def questionnaire_strings() -> list[str]:
    """Every label of the questionnaire (for translation catalogs)."""
    out: list[str] = []
    for q in _questions().values():
        out.append(q["label"])
        out += [o["label"] for o in q.get("options", [])]
    return out


def labelled(answers: dict[str, Any]) -> list[Answer]:
    """Answers in questionnaire order, unknown questions and options kept as text."""
    known = _questions()
    order = [q for q in known if q in answers] + sorted(q for q in answers if q not in known)
    out = []
    for qid in order:
        value = answers[qid]
        if value in ("", [], None):
            continue
        question = known.get(qid)
        if question is None or "options" not in question:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.append(Answer(qid, question["label"] if question else None, (), text))
            continue
        options = {o["id"]: o["label"] for o in question["options"]}
        values = value if isinstance(value, list) else [value]
        labels = tuple(options[str(v)] for v in values if str(v) in options)
        unknown = [str(v) for v in values if str(v) not in options]
        out.append(Answer(qid, question["label"], labels, ", ".join(unknown) or None))
    return out
