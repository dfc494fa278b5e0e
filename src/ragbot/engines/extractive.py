"""The engine that needs no LLM: picks the retrieved sentences that answer the question and cites them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragbot.citations import ABSTAIN_TEXT, Answer, compose
from ragbot.index import Index
from ragbot.retrieval import BM25, Retrieval, tokenize


@dataclass(frozen=True)
class ScoredSentence:
    score: float
    dense: float
    lexical: float
    hit_rank: int
    passage_row: int
    sentence: int  # index within the passage
    span: tuple[int, int]


class ExtractiveEngine:
    """Scores each sentence of the top passages by meaning (MiniLM cosine) and by question-term coverage.

    The answer is the best sentence plus up to ``max_sentences - 1`` others scoring within
    ``margin`` of it; below ``threshold`` the engine abstains.
    """

    name = "extractive"

    def __init__(
        self,
        index: Index,
        bm25: BM25,
        passages: int = 5,
        max_sentences: int = 3,
        threshold: float = 0.40,
        lexical_weight: float = 0.35,
        margin: float = 0.06,
    ) -> None:
        if passages < 1 or max_sentences < 1:
            raise ValueError("passages and max_sentences must be at least 1")
        self.index, self.bm25 = index, bm25
        self.passages, self.max_sentences, self.threshold = passages, max_sentences, threshold
        self.lexical_weight, self.margin = lexical_weight, margin
        self._row = {p.passage_id: i for i, p in enumerate(index.passages)}

    def score_sentences(self, retrieval: Retrieval) -> list[ScoredSentence]:
        terms = set(tokenize(retrieval.question))
        weights = {t: self.bm25.idf.get(t, 0.0) for t in terms}
        total = sum(weights.values()) or 1.0
        scored = []
        for hit in retrieval.hits[: self.passages]:
            row = self._row[hit.passage.passage_id]
            dense = self.index.sentences_of(row) @ retrieval.query_vector
            for j, (s, e) in enumerate(hit.passage.sentences):
                words = set(tokenize(hit.passage.text[s:e]))
                lexical = sum(w for t, w in weights.items() if t in words) / total
                score = float(dense[j]) + self.lexical_weight * lexical
                scored.append(ScoredSentence(score, float(dense[j]), lexical, hit.rank, row, j, (s, e)))
        scored.sort(key=lambda x: (-x.score, x.hit_rank))
        return scored

    def run(self, retrieval: Retrieval) -> Answer:
        scored = self.score_sentences(retrieval)
        if not scored or scored[0].score < self.threshold:
            return Answer(retrieval.question, ABSTAIN_TEXT, True, [], retrieval.hits)
        best = scored[0].score
        picked: list[ScoredSentence] = []
        seen: set[str] = set()
        for s in scored:
            if len(picked) == self.max_sentences or s.score < best - self.margin:
                break
            text = self.index.passages[s.passage_row].text[slice(*s.span)].strip()
            if text in seen or (len(text) < 20 and picked):
                continue
            if any(float(self._vector(s) @ self._vector(p)) > 0.9 for p in picked):
                continue
            seen.add(text)
            picked.append(s)
        text, citations = compose([(self.index.passages[s.passage_row], s.span) for s in picked])
        return Answer(retrieval.question, text, False, citations, retrieval.hits)

    def _vector(self, s: ScoredSentence) -> np.ndarray:
        return self.index.sentences_of(s.passage_row)[s.sentence]
