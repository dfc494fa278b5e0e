"""One trainee taking one quiz, shared by `ragbot quiz take` and the Quiz tab: each answer is graded once,
the attempt is saved after every answer (a crash loses at most the answer in flight), then score and review."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ragbot.errors import RagbotError
from ragbot.evaluation.metrics import normalise
from ragbot.models.embedder import Encoder
from ragbot.quiz.grade import Grade, grade
from ragbot.quiz.model import Question, Quiz
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import Attempt, clean_name

MAX_RESPONSE_CHARS = 500
TYPE_NAMES = {"mcq": "multiple choice", "short": "short answer", "truefalse": "true or false"}
MARKS = {"correct": "✓", "partly correct": "½", "wrong": "✗", "no answer": "–", "not reached": " "}
_TRUE, _FALSE = {"true", "t", "yes", "y"}, {"false", "f", "no", "n"}
_QUOTED = re.compile(r"“(.+)” \(")  # the source sentence in a generated explanation: “sentence” (title, section)


def letter(i: int) -> str:
    return chr(ord("A") + i)


def choice(question: Question, text: str) -> str | None:
    """A typed answer as the grader's canonical form (an option's text, True or False); None if it is not one."""
    given = " ".join(text.split())
    if question.type == "truefalse":
        value = given.lower()
        return "True" if value in _TRUE else "False" if value in _FALSE else None
    if question.type == "mcq":
        options = question.options or []
        if len(given) == 1 and given.upper() in [letter(i) for i in range(len(options))]:
            return options[ord(given.upper()) - ord("A")]
        return next((o for o in options if normalise(o) == normalise(given)), None)
    return given


def clean_response(response: object) -> str:
    """The response with control characters dropped and spaces collapsed; over-long answers are refused."""
    text = response if isinstance(response, str) else ""
    text = " ".join("".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in text).split())
    if len(text) > MAX_RESPONSE_CHARS:
        raise RagbotError(f"the answer is {len(text)} characters long; the limit is {MAX_RESPONSE_CHARS}")
    return text


def source_spans(question: Question) -> list[tuple[int, int]]:
    """Where the source passage says the answer: the quoted sentence, else each mention of the key."""
    text = question.source.text
    quoted = _QUOTED.search(question.explanation)
    if quoted and (start := text.find(quoted.group(1))) >= 0:
        return [(start, start + len(quoted.group(1)))]
    if question.type == "truefalse":
        return []
    return [(m.start(), m.end()) for m in re.finditer(re.escape(question.answer), text, re.IGNORECASE)]


def score_line(score: float, max_score: float) -> str:
    percent = f" ({round(100 * score / max_score)}%)" if max_score else ""
    return f"{score:g} / {max_score:g}{percent}"


@dataclass
class Session:
    """The quiz, the attempt so far, and which question is on screen (it moves on only once answered)."""

    quiz: Quiz
    attempt: Attempt
    shown: int = 0
    grades: list[Grade] = field(default_factory=list)

    @classmethod
    def start(cls, quiz: Quiz, trainee: str) -> Session:
        return cls(quiz, Attempt(trainee=clean_name(trainee), quiz_id=quiz.quiz_id, max_score=len(quiz.questions)))

    @property
    def question(self) -> Question | None:
        """The question on screen, or None once the quiz is over."""
        return self.quiz.questions[self.shown] if self.shown < len(self.quiz.questions) else None

    @property
    def answered(self) -> bool:
        """Whether the question on screen has been answered (so Submit is done and Next is due)."""
        return len(self.attempt.answers) > self.shown

    @property
    def done(self) -> bool:
        return len(self.attempt.answers) == len(self.quiz.questions)

    def submit(self, response: str, store: UserDataStore, encoder: Encoder | None) -> Grade:
        """Grade the question on screen, once, and save the attempt with this answer in one transaction."""
        q = self.question
        if q is None:
            raise RagbotError("the quiz is over")
        if self.answered:
            raise RagbotError("this question is already answered; go on to the next one")
        text = clean_response(response)
        given = (choice(q, text) or text) if text else ""
        result = grade(q, given, encoder)
        self.attempt.answers.append({"question_id": q.id, "type": q.type, "question": q.question, "answer": q.answer,
                                     "response": given, "verdict": result.verdict, "credit": result.score})  # fmt: skip
        self.attempt.finished = self.done
        try:
            store.save_attempt(self.attempt)
        except RagbotError:
            self.attempt.answers.pop()  # not saved, so not given: the trainee can submit it again
            self.attempt.finished = False
            raise
        self.grades.append(result)
        return result

    def next(self) -> Question | None:
        """Move on from an answered question; returns the new one, or None at the end."""
        if self.answered:
            self.shown += 1
        return self.question

    def review(self) -> list[list[Any]]:
        """One row per question: number, verdict, credit, the trainee's answer, the key, the question."""
        rows: list[list[Any]] = []
        for i, q in enumerate(self.quiz.questions):
            a = self.attempt.answers[i] if i < len(self.attempt.answers) else None
            verdict = a["verdict"] if a else "not reached"
            rows.append([i + 1, verdict, a["credit"] if a else 0.0, (a["response"] or "—") if a else "—", q.answer, q.question])
        return rows
