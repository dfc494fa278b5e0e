"""Feedback and quiz attempts as records, and the row layouts every backend reads and writes."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ragbot.errors import RagbotError

MAX_COMMENT_CHARS = 2000
MAX_NAME_CHARS = 80

# Row layouts every backend reads and writes, in this column order (values: str, int, bool, float, JSON text).
FEEDBACK_COLUMNS = ("id", "created", "rating", "comment", "question", "answer", "abstained", "citations", "settings")
ATTEMPT_COLUMNS = ("id", "created", "updated", "trainee", "quiz_id", "score", "max_score", "finished", "answers")
Row = tuple[Any, ...]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def clean_name(name: object) -> str:
    """A trainee's name with control characters and runs of spaces collapsed; empty or over-long is an error."""
    if not isinstance(name, str):
        raise RagbotError("the trainee name must be text")
    text = " ".join("".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in name).split())
    if not text:
        raise RagbotError("enter the trainee's name")
    if len(text) > MAX_NAME_CHARS:
        raise RagbotError(f"the trainee name is {len(text)} characters long; the limit is {MAX_NAME_CHARS}")
    return text


@dataclass(frozen=True)
class Feedback:
    rating: int  # +1 or -1
    question: str
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    settings: dict[str, Any]
    comment: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=now)


@dataclass
class Attempt:
    """One trainee's run through one quiz; answers hold, per question answered, the response and its grade."""

    trainee: str
    quiz_id: str
    max_score: float  # questions in the quiz, answered or not
    answers: list[dict[str, Any]] = field(default_factory=list)  # question_id, question, answer, response, verdict, credit
    finished: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=now)
    updated: str = ""

    @property
    def score(self) -> float:
        return float(sum(a["credit"] for a in self.answers))
