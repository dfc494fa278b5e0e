"""The engine that needs no LLM: picks the retrieved sentences that answer the question and cites them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ragbot.answer import ABSTAIN_TEXT, Answer, Event, Final, Retrieval
from ragbot.citations import compose
from ragbot.engines.judge import calibrated
from ragbot.index.reader import Index

NOT_CHECKED = "Not checked by the model: decided by the retrieval score alone (the LLM engine is off)."
_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand|million|billion|half|dozen"
_MONTHS = r"(?-i:January|February|March|April|May|June|July|August|September|October|November|December)"
# What kind of answer a question asks for, and what a sentence must hold to give it.
_ANSWER_TYPES = [
    (
        re.compile(r"^\s*(when|since when|(in |by )?what year|(in |by )?which year|what date|on what date)\b", re.I),
        re.compile(rf"\b(1[5-9]\d\d|20\d\d|{_MONTHS})\b|\b\d{{4}}s\b", re.I),
    ),
    (
        re.compile(r"\b(how many|how much|what (percentage|proportion|share|fraction|number)|how long|how old|how large|how big)\b", re.I),
        re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    ),
]


def answer_pattern(question: str) -> re.Pattern[str] | None:
    """The pattern a sentence must match to answer this kind of question (a date, a number), if any."""
    for asks, holds in _ANSWER_TYPES:
        if asks.search(question):
            return holds
    return None


@dataclass(frozen=True)
class ScoredSentence:
    score: float
    hit_rank: int
    passage_row: int
    sentence: int  # index within the passage
    span: tuple[int, int]


class ExtractiveEngine:
    """Answers with the retrieved sentences that score best (the retriever's meaning + term-coverage score).

    The answer is the best sentence plus up to ``max_sentences - 1`` others scoring within
    ``margin`` of it. It abstains when no sentence scores ``threshold`` or more, or when the
    question asks for a date or a number and no retrieved sentence holds one. When the question names
    briefs (``Retrieval.named_briefs``) and one of their sentences reaches the threshold, their
    sentences come first and the answer quotes only them; the LLM engine's evidence follows the same order.
    """

    name = "extractive"

    def __init__(
        self,
        index: Index,
        passages: int = 5,
        max_sentences: int = 3,
        threshold: float = 0.91,
        margin: float = 0.1,
        calibration: tuple[float, float] = (1.0, 0.0),
    ) -> None:
        if passages < 1 or max_sentences < 1:
            raise ValueError("passages and max_sentences must be at least 1")
        self.index = index
        self.passages, self.max_sentences, self.threshold, self.margin = passages, max_sentences, threshold, margin
        self.calibration = calibration

    def confidence(self, best: float) -> float:
        """The calibrated probability that the briefs answer a question whose best sentence scores ``best``."""
        return calibrated(self.calibration, best)

    def score_sentences(self, retrieval: Retrieval) -> list[ScoredSentence]:
        needs = answer_pattern(retrieval.question)
        scored = []
        for hit in retrieval.hits[: self.passages]:
            row = self.index.row_of(hit.passage.passage_id)
            if row is None:  # a hit from another index: nothing to score it with
                continue
            for j, ((s, e), score) in enumerate(zip(hit.passage.sentences, hit.sentence_scores, strict=True)):
                if needs and not needs.search(hit.passage.text[s:e]):
                    continue  # cannot answer this kind of question
                scored.append(ScoredSentence(score, hit.rank, row, j, (s, e)))
        named = self._named_rows(retrieval, scored)
        scored.sort(key=lambda x: (x.passage_row not in named, -x.score, x.hit_rank))
        return scored

    def _named_rows(self, retrieval: Retrieval, scored: list[ScoredSentence]) -> set[int]:
        """Rows of the briefs the question names whose sentences go first: when one of them reaches the threshold."""
        if not retrieval.named_briefs:
            return set()
        named = {s.passage_row for s in scored if self.index.passages[s.passage_row].doc_id in retrieval.named_briefs}
        return named if any(s.score >= self.threshold for s in scored if s.passage_row in named) else set()

    def run(self, retrieval: Retrieval) -> Answer:
        return self.answer(retrieval, self.score_sentences(retrieval))

    def answer(self, retrieval: Retrieval, scored: list[ScoredSentence]) -> Answer:
        """The answer from sentences already scored (best first) by ``score_sentences``."""
        best = scored[0].score if scored else -1.0  # no sentence can answer this kind of question
        checks = {"best_score": round(best, 4)}
        if best < self.threshold:
            answer = Answer(retrieval.question, ABSTAIN_TEXT, "abstained", [], retrieval.hits, notice=NOT_CHECKED, checks=checks)
            answer.confidence = self.confidence(best)
            return answer
        picked: list[ScoredSentence] = []
        seen: set[str] = set()
        named = self._named_rows(retrieval, scored)
        for s in scored:
            if len(picked) == self.max_sentences or s.score < best - self.margin or (named and s.passage_row not in named):
                break
            text = self.index.passages[s.passage_row].text[slice(*s.span)].strip()
            if text in seen or (len(text) < 20 and picked):
                continue
            if any(float(self._vector(s) @ self._vector(p)) > 0.9 for p in picked):
                continue
            seen.add(text)
            picked.append(s)
        chosen = [(self.index.passages[s.passage_row], s.span) for s in picked]
        text, citations = compose(chosen)
        sentences = [p.text[slice(*span)].strip() for p, span in chosen]
        answer = Answer(retrieval.question, text, "answered", citations, retrieval.hits, sentences=sentences, notice=NOT_CHECKED)
        answer.confidence, answer.checks = self.confidence(best), checks
        return answer

    def stream(self, retrieval: Retrieval) -> Iterator[Event]:
        yield Final(self.run(retrieval))

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str | None:
        """No model to rewrite a follow-up with: the rule applies."""
        return None

    def _vector(self, s: ScoredSentence) -> np.ndarray:
        return self.index.sentences_of(s.passage_row)[s.sentence]
