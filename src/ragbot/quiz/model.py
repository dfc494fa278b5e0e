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
MAX_QUESTIONS = 200


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
    kind: str = ""  # what the answer is: year, number, country, organisation, policy, name

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


def _text(d: dict[str, Any], key: str, where: str, empty: bool = False) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not (empty or value.strip()):
        raise ValueError(f"{where} needs {key!r} as {'' if empty else 'non-empty '}text")
    return value


def _parse(data: Any) -> Quiz:
    """A Quiz from a file's JSON; ValueError names the first thing wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise ValueError("it needs a non-empty 'questions' list")
    if len(data["questions"]) > MAX_QUESTIONS:
        raise ValueError(f"it has {len(data['questions'])} questions; the limit is {MAX_QUESTIONS}")
    questions: list[Question] = []
    for i, q in enumerate(data["questions"], 1):
        where = f"question {i}"
        if not isinstance(q, dict):
            raise ValueError(f"{where} is not an object")
        qtype = _text(q, "type", where)
        if qtype not in QUESTION_TYPES:
            raise ValueError(f"{where} has unknown type {qtype!r}")
        answer = _text(q, "answer", where)
        options = q.get("options")
        if qtype == "mcq":
            if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
                raise ValueError(f"{where} is multiple choice but has no list of two or more options")
            if len({o.strip().lower() for o in options}) < len(options):
                raise ValueError(f"{where} has the same option twice")
            if answer not in options:
                raise ValueError(f"{where} is multiple choice but its answer is not one of its options")
        elif options is not None:
            raise ValueError(f"{where} is {qtype} but has options")
        if qtype == "truefalse" and answer not in ("True", "False"):
            raise ValueError(f"{where} is true/false but its answer is {answer!r}")
        source = q.get("source")
        if not isinstance(source, dict):
            raise ValueError(f"{where} needs its 'source' passage")
        src = Source(*(_text(source, k, f"{where}'s source") for k in ("passage_id", "doc_id", "title", "text")))
        question = Question(_text(q, "id", where), qtype, _text(q, "question", where), answer, _text(q, "explanation", where, empty=True),
                            src, options, _text(q, "kind", where, empty=True) if "kind" in q else "")  # fmt: skip
        if any(question.id == other.id for other in questions):
            raise ValueError(f"{where} repeats the id {question.id!r}")
        questions.append(question)
    created = _text(data, "created", "the quiz", empty=True)
    return Quiz(_text(data, "quiz_id", "the quiz"), created, _text(data, "corpus_fingerprint", "the quiz"), questions)


def load_quiz(path: Path, fingerprint: str | None = None) -> Quiz:
    """Read a quiz file; a malformed one, or one made from another corpus, is one clear error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagbotError(f"quiz file {path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RagbotError(f"{path} is not a quiz file (not JSON: {exc})") from None
    except OSError as exc:
        raise RagbotError(f"cannot read the quiz file {path}: {exc.strerror}") from None
    try:
        quiz = _parse(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise RagbotError(f"{path} is not a valid quiz file ({exc})") from None
    if fingerprint is not None:
        check_corpus(quiz, fingerprint, str(path))
    return quiz


def check_corpus(quiz: Quiz, fingerprint: str, name: str) -> None:
    """A quiz from another corpus may ask about briefs that are gone or changed: one clear error."""
    if quiz.corpus_fingerprint != fingerprint:
        raise RagbotError(
            f"{name} was made from another corpus (fingerprint {quiz.corpus_fingerprint}, this index {fingerprint}); generate a new quiz"
        )
