"""A question as ragbot takes it: checked once, where it comes in (the CLI, the page, the API), then passed along typed."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ragbot.errors import RagbotError


def clean_question(question: object, max_chars: int) -> str:
    """The question with control characters removed and whitespace collapsed; rejects empty or over-long ones."""
    if not isinstance(question, str):
        raise RagbotError("the question must be text")
    text = "".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in question)
    text = " ".join(text.split())
    if not text:
        raise RagbotError("the question is empty; ask something about the briefs")
    if len(text) > max_chars:
        raise RagbotError(f"the question is {len(text)} characters long; the limit is {max_chars}")
    return text


def check_k(k: int | None, name: str = "k") -> None:
    """Passages per answer list: 1 to 100."""
    if k is not None and not 1 <= k <= 100:
        raise RagbotError(f"{name} must be between 1 and 100, got {k}")


@dataclass(frozen=True)
class Question:
    """A checked question: its text, how many passages to list, which briefs to search and the conversation before it."""

    text: str
    k: int | None = None  # passages in the ranked list returned with the answer (None: the top_k setting)
    docs: frozenset[str] | None = None  # only these briefs (None: all)
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns, for follow-ups

    @classmethod
    def parse(
        cls,
        text: object,
        max_chars: int,
        k: int | None = None,
        docs: set[str] | frozenset[str] | None = None,
        history: list[tuple[str, str]] | tuple[tuple[str, str], ...] | None = None,
    ) -> Question:
        """The question checked: clean text of at most ``max_chars``, k in 1..100; raises RagbotError in one line."""
        cleaned = clean_question(text, max_chars)
        check_k(k)
        return cls(cleaned, k, None if docs is None else frozenset(docs), tuple(history or ()))
