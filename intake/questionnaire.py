"""The questionnaire of DESIGN §7, loaded from DIR/questionnaire.json (instance-editable)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("questionnaire.json")
TYPES = ("text", "textarea", "choice", "multi")
_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
RESERVED = frozenset({"csrf_token", "website", "narrative", "files"})


class QuestionnaireError(ValueError):
    """questionnaire.json is malformed."""


# A label is an English message id (translated through the catalogs) or {language: text}.
Label = str | dict[str, str]


@dataclass(frozen=True)
class Option:
    """One choice of a choice or multi question."""

    id: str
    label: Label


@dataclass(frozen=True)
class Question:
    """One optional question."""

    id: str
    type: str
    label: Label
    options: tuple[Option, ...] = ()

    @property
    def field_name(self) -> str:
        """The form field carrying this answer."""
        return f"q_{self.id}"


@dataclass(frozen=True)
class Questionnaire:
    """All questions, in display order."""

    questions: tuple[Question, ...]

    def by_field(self, name: str) -> Question | None:
        """The question a form field answers, if any."""
        for question in self.questions:
            if question.field_name == name:
                return question
        return None

    @property
    def max_fields(self) -> int:
        """How many form fields a full answer can take (a multi sends one per option)."""
        return sum(max(1, len(q.options)) for q in self.questions)


def _text(value: Any, where: str) -> Label:
    strings = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if isinstance(value, dict) and value and strings:
        return {str(k): str(_text(v, where)) for k, v in value.items()}
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise QuestionnaireError(f"{where}: label must be non-empty text or {{language: text}}")
    return value


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise QuestionnaireError(f"{where}: id must be lowercase letters, digits, _")
    return value


def parse_questionnaire(data: Any) -> Questionnaire:
    """Validate the JSON structure and build the Questionnaire."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise QuestionnaireError('questionnaire must be an object with "version": 1')
    items = data.get("questions")
    if not isinstance(items, list):
        raise QuestionnaireError('"questions" must be a list')
    questions: list[Question] = []
    seen: set[str] = set()
    for number, item in enumerate(items, 1):
        where = f"question {number}"
        if not isinstance(item, dict):
            raise QuestionnaireError(f"{where} must be an object")
        qid = _ident(item.get("id"), where)
        if qid in seen:
            raise QuestionnaireError(f"{where}: id {qid!r} is used twice")
        seen.add(qid)
        kind = item.get("type")
        if kind not in TYPES:
            raise QuestionnaireError(f"{where}: type must be one of {', '.join(TYPES)}")
        options: list[Option] = []
        if kind in ("choice", "multi"):
            raw = item.get("options")
            if not isinstance(raw, list) or not raw:
                raise QuestionnaireError(f"{where}: needs a list of options")
            for opt in raw:
                if not isinstance(opt, dict):
                    raise QuestionnaireError(f"{where}: each option is an object")
                options.append(Option(_ident(opt.get("id"), where), _text(opt.get("label"), where)))
            if len({o.id for o in options}) != len(options):
                raise QuestionnaireError(f"{where}: option ids must differ")
        questions.append(Question(qid, str(kind), _text(item.get("label"), where), tuple(options)))
    return Questionnaire(tuple(questions))


def load_questionnaire(path: Path) -> Questionnaire:
    """Read and validate a questionnaire file."""
    try:
        return parse_questionnaire(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionnaireError(f"{path}: {exc}") from exc
