"""Quiz records and the quiz file: JSON, checked on load, tied to the corpus it was made from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragbot.errors import RagbotError
from ragbot.files import atomic_write

QUESTION_TYPES = ("mcq", "short", "truefalse")


@dataclass(frozen=True)
class Source:
    passage_id: str
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # mcq | short | truefalse
    question: str
    answer: str  # the key: an option (mcq), "True"/"False", or the short answer
    explanation: str
    source: Source
    options: list[str] | None = None  # mcq only
    kind: str = ""  # what the answer is: year, number, country, organisation, term

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.options is None:
            del d["options"]
        return d


@dataclass
class Quiz:
    quiz_id: str
    created: str
    corpus_fingerprint: str
    questions: list[Question] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"quiz_id": self.quiz_id, "created": self.created, "corpus_fingerprint": self.corpus_fingerprint,
                "questions": [q.to_dict() for q in self.questions]}  # fmt: skip

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False).encode("utf-8"))


def corpus_fingerprint(documents: dict[str, dict[str, Any]]) -> str:
    """A hash of the indexed documents' contents: a quiz from another corpus does not match."""
    digest = hashlib.sha256(json.dumps(sorted((k, v.get("sha256")) for k, v in documents.items())).encode())
    return digest.hexdigest()[:16]


def load_quiz(path: Path, fingerprint: str | None = None) -> Quiz:
    """Read a quiz file; a malformed one, or one made from another corpus, is one clear error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagbotError(f"quiz file {path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RagbotError(f"{path} is not a quiz file (not JSON: {exc})") from None
    try:
        questions = []
        for i, q in enumerate(data["questions"], 1):
            if q["type"] not in QUESTION_TYPES:
                raise ValueError(f"question {i} has unknown type {q['type']!r}")
            if q["type"] == "mcq" and (not isinstance(q.get("options"), list) or q["answer"] not in q["options"]):
                raise ValueError(f"question {i} is multiple choice but its answer is not one of its options")
            questions.append(Question(q["id"], q["type"], q["question"], q["answer"], q["explanation"], Source(**q["source"]),
                                      q.get("options"), q.get("kind", "")))  # fmt: skip
        quiz = Quiz(data["quiz_id"], data["created"], data["corpus_fingerprint"], questions)
    except (KeyError, TypeError, ValueError) as exc:
        raise RagbotError(f"{path} is not a valid quiz file ({exc})") from None
    if fingerprint is not None and quiz.corpus_fingerprint != fingerprint:
        raise RagbotError(
            f"{path} was made from another corpus (fingerprint {quiz.corpus_fingerprint}, this index {fingerprint}); generate a new quiz"
        )
    return quiz
