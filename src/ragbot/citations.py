"""Answer records and citation markers: "[n]" after a sentence points to the n-th cited passage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ragbot.chunking import Passage
from ragbot.retrieval import Hit

ABSTAIN_TEXT = "The briefs don't say."
MARKER = re.compile(r"\s*\[(\d+)\]")


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage
    quote: str  # the passage's supporting sentence(s)
    spans: tuple[tuple[int, int], ...] = ()  # where the quote sits within passage.text

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "n": self.n,
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            "title": p.title,
            "section": p.section,
            "quote": self.quote,
            "text": p.text,
        }


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation]
    retrieved: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {"passage_id": h.passage.passage_id, "doc_id": h.passage.doc_id, "text": h.passage.text, "score": round(h.score, 6)}
                for h in self.retrieved
            ],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def compose(picked: list[tuple[Passage, tuple[int, int]]]) -> tuple[str, list[Citation]]:
    """Join sentences, each followed by the marker of its passage; passages are numbered by first use."""
    numbers: dict[str, int] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    passages: dict[str, Passage] = {}
    parts = []
    for passage, (s, e) in picked:
        n = numbers.setdefault(passage.passage_id, len(numbers) + 1)
        passages[passage.passage_id] = passage
        spans.setdefault(passage.passage_id, []).append((s, e))
        parts.append(f"{passage.text[s:e].strip()} [{n}]")
    citations = [
        Citation(n, passages[pid], " … ".join(passages[pid].text[s:e] for s, e in sorted(spans[pid])), tuple(sorted(spans[pid])))
        for pid, n in numbers.items()
    ]
    return " ".join(parts), citations


def markers(text: str) -> list[int]:
    """The citation numbers in an answer, in order of appearance."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]
