"""Grading: multiple choice and true/false exactly; short answers by the key fact, else by meaning."""

from __future__ import annotations

from dataclasses import dataclass

from ragbot.evaluation.metrics import normalise
from ragbot.models.embedder import Encoder
from ragbot.quiz.model import Question

PARTIAL_SIMILARITY = 0.75  # a short answer this close in meaning to the key earns half credit
_TRUE, _FALSE = {"true", "t", "yes", "y"}, {"false", "f", "no", "n"}


@dataclass(frozen=True)
class Grade:
    score: float  # 0, 0.5 or 1
    verdict: str  # correct | partly correct | wrong | no answer
    explanation: str


def grade(question: Question, response: str, encoder: Encoder | None = None) -> Grade:
    """The same answer always gets the same grade; the explanation quotes the source."""
    given = (response or "").strip()
    why = f"The answer is {question.answer}. Source: {question.explanation}"
    if not given:
        return Grade(0.0, "no answer", why)
    if question.type == "truefalse":
        value = given.lower()
        if value not in _TRUE | _FALSE:
            return Grade(0.0, "wrong", f"Answer True or False. {why}")
        correct = (value in _TRUE) == (question.answer == "True")
    elif question.type == "mcq":
        options = question.options or []
        letter = given.upper()
        if len(letter) == 1 and "A" <= letter < chr(ord("A") + len(options)):
            given = options[ord(letter) - ord("A")]
        correct = normalise(given) == normalise(question.answer)
    else:
        if normalise(question.answer) in normalise(given):
            return Grade(1.0, "correct", why)
        if encoder is not None:
            a, b = encoder.encode([given, question.answer])
            if float(a @ b) >= PARTIAL_SIMILARITY:
                return Grade(0.5, "partly correct", why)
        correct = False
    return Grade(1.0, "correct", why) if correct else Grade(0.0, "wrong", why)
