"""What the retriever asks of an index (SearchStore) and the records it gets back; FAISS and Milvus both answer it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ragbot.index.term_sets import QueryTerms


@dataclass(frozen=True)
class Lexical:
    """A question's keyword candidates (rows, best first) and the BM25 score (0 at least) of any row the store can tell."""

    rows: np.ndarray
    known: np.ndarray | dict[int, float]  # every row's score (an array), or only the candidates' (a dict)

    def scores_of(self, rows: np.ndarray) -> np.ndarray:
        """BM25 scores of these rows (0 for a row the store did not score)."""
        if isinstance(self.known, np.ndarray):
            return np.maximum(self.known[rows], 0.0).astype(np.float32) if len(rows) else np.zeros(0, np.float32)
        return np.array([self.known.get(int(r), 0.0) for r in rows], dtype=np.float32)


@dataclass(frozen=True)
class Sentences:
    """The sentences of some passages, in row order: vectors, how many per passage, and their question-term coverage."""

    vectors: np.ndarray
    counts: np.ndarray  # sentences per passage
    cover: np.ndarray  # per sentence: summed weight of the question terms it holds
    passage_cover: np.ndarray  # per passage: the same over the whole passage


@dataclass(frozen=True)
class Candidates:
    """What the retriever scores candidate passages with: their vectors and their sentences, in row order."""

    vectors: np.ndarray  # per passage, normalised
    sentences: Sentences


class SearchStore(Protocol):
    """What the retriever asks of an index: candidates by vector and by keywords, then vectors and terms by row."""

    def dense(self, query: np.ndarray, c: int, docs: set[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine similarities) of the c passages nearest the query vector, best first, within docs if given."""
        ...

    def keyword(self, question: str, c: int, docs: set[str] | None) -> Lexical:
        """The c passages with the highest positive BM25 score for the question, within docs if given."""
        ...

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The passages' (normalised) vectors."""
        ...

    def sentences(self, rows: np.ndarray, terms: QueryTerms) -> Sentences:
        """The passages' sentence vectors and question-term coverage."""
        ...

    def candidates(self, rows: np.ndarray, terms: QueryTerms) -> Candidates:
        """passage_vectors and sentences of the same rows at once (what the retriever asks; one read per passage where it costs)."""
        ...

    def term_weight(self, term: str) -> float:
        """A question term's weight: its BM25 IDF, or the rarest term's for a word the library never uses."""
        ...
