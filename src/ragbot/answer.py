"""The records a question's path hands along: Hits and a Retrieval in, a Verdict and a cited Answer out, and the stream events.

An engine's ``stream`` yields, in order: ``Preview`` (the closest passages' quotes, shown at once
while the model checks them), the judge's ``Verdict``, ``Token`` pieces of the written text, and
last ``Final`` (the finished Answer). The extractive engine yields only ``Final``. ``Turn`` folds a
stream into what a consumer shows (the CLI, the page and the API all read one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from ragbot.chunking import Passage
from ragbot.errors import RagbotError

ABSTAIN_TEXT = "The briefs don't say."
UNSURE_TEXT = "Unsure: the closest passages may not state the answer."
# What an answer is: cited (answered), the closest evidence and not an answer (unsure), or "the briefs don't say" (abstained).
# "pending" marks a preview in a stream: quotes shown at once while the model checks them; a final answer never has it.
STATUSES = ("answered", "unsure", "abstained")
PENDING = "pending"


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the ranking score of the chosen retriever
    dense: float  # cosine similarity of question and passage
    bm25: float
    rank: int  # 1-based
    sentence_scores: tuple[float, ...]  # per sentence of the passage: similarity + question-term coverage
    brief_boost: float = 0.0  # brief_match_weight, in score when the question names this passage's brief

    @property
    def relevance(self) -> float:
        """The score as the question's words and meaning earn it, without the named-brief boost (what a source card shows)."""
        return self.score - self.brief_boost


@dataclass(frozen=True)
class Retrieval:
    """What retrieval hands to an answer engine: ranked hits (with sentence scores) and the question's vector."""

    question: str
    hits: list[Hit]
    query_vector: np.ndarray
    named_briefs: frozenset[str] = frozenset()  # doc_ids of the briefs the question names, preferred (ragbot.brief_match)


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage
    quote: str  # the passage's supporting sentence(s)
    spans: tuple[tuple[int, int], ...] = ()  # where the quote sits within passage.text
    supports: tuple[int, ...] = ()  # which sentences of the answer (0-based) this passage supports

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "n": self.n,
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            "title": p.title,
            "section": p.section,
            "quote": self.quote,
            "spans": [list(span) for span in self.spans],
            "supports": list(self.supports),
            "text": p.text,
        }


@dataclass
class Answer:
    question: str
    text: str
    status: str  # one of STATUSES, or PENDING for a preview
    citations: list[Citation]  # for "unsure", the closest evidence (not an answer)
    retrieved: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    engine: str = "extractive"
    sentences: list[str] = field(default_factory=list)  # the answer's sentences, without markers
    dropped: list[str] = field(default_factory=list)  # generated sentences removed as unsupported
    standalone: str | None = None  # the question as rewritten from the chat history, when it was a follow-up
    notice: str = ""  # e.g. why the LLM engine fell back to the extractive answer
    generated: str = ""  # the LLM's raw text, before verification
    confidence: float | None = None  # the calibrated probability that the passages state the answer
    checks: dict[str, Any] = field(default_factory=dict)  # the answerability judge's figures, for traces

    @property
    def abstained(self) -> bool:
        return self.status == "abstained"

    @property
    def answered(self) -> bool:
        return self.status == "answered"

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone,
            "engine": self.engine,
            "status": self.status,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "answer": self.text,
            "abstained": self.abstained,
            "sentences": self.sentences,
            "citations": [c.to_dict() for c in self.citations],
            "dropped": self.dropped,
            "notice": self.notice,
            "generated": self.generated,
            "checks": self.checks,
            "retrieved": [
                {"passage_id": h.passage.passage_id, "doc_id": h.passage.doc_id, "text": h.passage.text, "score": round(h.score, 6)}
                for h in self.retrieved
            ],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


# --- stream events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The closest passages' quotes (an Answer whose status is ``pending``), shown while the model checks them."""

    answer: Answer
    name: ClassVar[str] = "preview"

    def data(self) -> dict[str, Any]:
        return self.answer.to_dict()


@dataclass(frozen=True)
class Verdict:
    """The judge's decision on a question: its status, the calibrated confidence and the raw P(Yes)."""

    status: str  # "answered", "unsure" or "abstained"
    confidence: float
    p_yes: float | None
    name: ClassVar[str] = "verdict"

    def data(self) -> dict[str, Any]:
        return {**asdict(self), "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Token:
    """A piece of the written answer, as the model writes it."""

    text: str
    name: ClassVar[str] = "token"

    def data(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True)
class Final:
    """The finished answer: always the last event of a stream."""

    answer: Answer
    name: ClassVar[str] = "answer"

    def data(self) -> dict[str, Any]:
        return self.answer.to_dict()


Event = Preview | Verdict | Token | Final


@dataclass
class Turn:
    """A stream folded into what a consumer shows: the preview, the verdict, the text so far and the final answer."""

    preview: Answer | None = None
    verdict: Verdict | None = None
    written: str = ""
    final: Answer | None = None

    def add(self, event: Event) -> Event:
        """Take one event in; returns it, so ``for e in stream: turn.add(e)`` can also react to it."""
        match event:
            case Preview(answer):
                self.preview = answer
            case Verdict():
                self.verdict = event
            case Token(text):
                self.written += text
            case Final(answer):
                self.final = answer
        return event

    @classmethod
    def of(cls, events: Iterable[Event]) -> Turn:
        """The whole stream, consumed."""
        turn = cls()
        for event in events:
            turn.add(event)
        return turn

    @property
    def answer(self) -> Answer:
        """The final answer; a stream that ended without one is a bug in its engine."""
        if self.final is None:
            raise RagbotError("the answer engine returned no answer")
        return self.final
