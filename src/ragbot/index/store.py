"""The retriever's index operations behind one interface: FAISS and local files (the default), or Milvus (index/milvus.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from ragbot.index import Index
from ragbot.index.dense import DenseSearch
from ragbot.index.keyword import KeywordIndex
from ragbot.index.npy_file import ranges_of
from ragbot.index.term_sets import QueryTerms
from ragbot.settings import Settings


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


def open_store(index: Index, settings: Settings) -> SearchStore:
    """The store settings.vector_store names, over this index (Milvus brought up to date with it first)."""
    if settings.vector_store == "milvus":
        from ragbot.index.milvus import MilvusStore

        return MilvusStore.connect(index, settings)
    return FaissStore(index, settings)


def _top(scores: np.ndarray, c: int) -> np.ndarray:
    """Rows of the c highest positive scores (any order).

    Only the positive scores are partitioned: most of a large library scores 0 for a question, and
    numpy's partition over that many ties took up to 20x longer (190 ms at 10^6 passages).
    """
    if c < 1 or not len(scores):
        return np.zeros(0, np.int64)
    positive = np.flatnonzero(scores > 0)
    if len(positive) > c:
        positive = positive[np.argpartition(scores[positive], len(positive) - c)[len(positive) - c :]]
    return positive.astype(np.int64)
