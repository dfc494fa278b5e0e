"""The local SearchStore: FAISS for dense search, BM25 postings for keywords, sentence vectors and term ids read by row."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ragbot.index.dense import DenseSearch
from ragbot.index.keyword import KeywordIndex
from ragbot.index.npy_file import ranges_of
from ragbot.index.reader import Index
from ragbot.index.search.base import Candidates, Lexical, Sentences
from ragbot.index.term_sets import QueryTerms
from ragbot.settings import Settings


class FaissStore:
    """The local index: FAISS for dense search, BM25 postings for keywords, sentence vectors read by row, memory-mapped term ids."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index, self.settings = index, settings
        self.search = DenseSearch(index.vectors, settings.hnsw_ef_search)

    @cached_property
    def bm25(self) -> KeywordIndex:
        """The index's BM25 postings scored with the settings' k1 and b (applied per question: nothing to rebuild)."""
        return self.index.keyword.with_params(self.settings.bm25_k1, self.settings.bm25_b)

    def dense(self, query: np.ndarray, c: int, docs: set[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS top-c (exact over the allowed rows when a filter is selective)."""
        return self.search.run(query, c, self.index.rows_of(docs) if docs else None)

    def keyword(self, question: str, c: int, docs: set[str] | None) -> Lexical:
        """BM25 scores of every passage (the question terms' postings in every segment); rows outside docs score -inf."""
        scores = self.bm25.scores(question)
        if docs:
            allowed = self.index.rows_of(docs)
            masked = np.full_like(scores, -np.inf)
            masked[allowed] = scores[allowed]
            scores = masked
        return Lexical(_top(scores, c), scores)  # clamped at 0 for the candidates only, not over every passage

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        """Reconstructed from FAISS."""
        return self.search.vectors_of(rows)

    def sentences(self, rows: np.ndarray, terms: QueryTerms) -> Sentences:
        """Sentence vectors (pread) and term coverage (memory-mapped term ids) of the candidate rows."""
        index = self.index
        first, last = index.sentence_start[rows], index.sentence_start[rows + 1]
        return Sentences(
            ranges_of(index.sentence_vectors, first, last),
            last - first,
            index.sentence_terms.cover(first, last, terms),
            index.passage_terms.cover(rows, rows + 1, terms),
        )

    def candidates(self, rows: np.ndarray, terms: QueryTerms) -> Candidates:
        """Both reads, one after the other (each is local)."""
        return Candidates(self.passage_vectors(rows), self.sentences(rows, terms))

    def term_weight(self, term: str) -> float:
        """BM25's (Lucene) IDF."""
        return self.bm25.idf(term) or self.bm25.rarest


def _top(scores: np.ndarray, c: int) -> np.ndarray:
    """Rows of the c highest positive scores (any order).

    Only the positive scores are partitioned: most of a large library scores 0 for a question, and
    numpy's partition over that many ties is many times slower.
    """
    if c < 1 or not len(scores):
        return np.zeros(0, np.int64)
    positive = np.flatnonzero(scores > 0)
    if len(positive) > c:
        positive = positive[np.argpartition(scores[positive], len(positive) - c)[len(positive) - c :]]
    return positive.astype(np.int64)
