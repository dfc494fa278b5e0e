"""BM25 over passages with bm25s: sparse matrices built at index time, saved beside the vectors, memory-mapped on load."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ragbot.terms import tokenize

# bm25s' file names, fixed so the manifest can checksum each one
FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")


class KeywordIndex:
    """Okapi BM25 (Lucene's variant, scores times k1 + 1 so they read as the textbook formula's) over tokenized passages."""

    def __init__(self, model: object) -> None:
        import bm25s

        assert isinstance(model, bm25s.BM25)
        self.model = model
        self.n = int(model.scores["num_docs"])
        indptr = model.scores["indptr"]
        self._df = np.diff(np.asarray(indptr))  # documents holding each vocabulary term (CSC columns are terms)
        self._vocab: dict[str, int] = model.vocab_dict
        self._scale = float(model.k1) + 1.0

    @classmethod
    def build(cls, texts: Iterable[str], k1: float = 1.2, b: float = 0.75) -> KeywordIndex:
        import bm25s
        from bm25s.tokenization import Tokenized

        vocab: dict[str, int] = {}
        # term ids as int32 arrays: a million passages' tokens as Python strings would take gigabytes
        ids = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokenize(text)), dtype=np.int32) for text in texts]
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        _quiet()
        model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(model)

    def save(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(str(directory), show_progress=False)
        return [directory / name for name in FILES]

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> KeywordIndex:
        import bm25s

        _quiet()
        return cls(bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False))

    def known(self, terms: Iterable[str]) -> list[str]:
        return [t for t in dict.fromkeys(terms) if t in self._vocab and self._df[self._vocab[t]] > 0]

    def scores(self, question: str) -> np.ndarray:
        """Every passage's BM25 score for the question's terms (zeros when none is in the vocabulary)."""
        terms = self.known(tokenize(question))
        if not terms or not self.n:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.model.get_scores(terms), dtype=np.float32) * self._scale

    def idf(self, term: str) -> float | None:
        """Lucene's IDF of a term, or None when no passage holds it."""
        col = self._vocab.get(term)
        df = int(self._df[col]) if col is not None else 0
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5)) if df else None

    @property
    def rarest(self) -> float:
        """The IDF of a term held by one passage: the weight of a word the library never uses."""
        return math.log(1 + (self.n - 0.5) / 1.5) if self.n else 1.0


def _quiet() -> None:
    logging.getLogger("bm25s").setLevel(logging.ERROR)
