"""BM25 over passages: built and saved by bm25s at index time, memory-mapped and scored with numpy alone on load.

bm25s saves Okapi BM25 as a CSC matrix of precomputed per-(passage, term) scores (columns are
terms) beside its parameters and vocabulary. A passage's score for a question is the sum of the
question terms' columns, which is all a question needs; so loading reads those files directly and
does not import bm25s, whose import brings scipy (a quarter of a second of a cold `ragbot ask`).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ragbot.terms import tokenize

# bm25s' file names, fixed so the manifest can checksum each one
FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")
_METHOD = "lucene"  # bm25s' methods with a non-occurrence array (bm25l, bm25+) would need it added to every score


class KeywordIndex:
    """Okapi BM25 (Lucene's variant, scores times k1 + 1 so they read as the textbook formula's) over tokenized passages."""

    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        vocab: dict[str, int],
        n: int,
        k1: float,
        source: Any = None,
    ) -> None:
        """The CSC arrays of per-(passage, term) scores; ``source`` is what save() writes: a bm25s model, or a saved folder."""
        self.data, self.indices, self.indptr = data, indices, indptr
        self.n = n
        self._df = np.diff(np.asarray(indptr))  # documents holding each vocabulary term (CSC columns are terms)
        self._vocab = vocab
        self._scale = float(k1) + 1.0
        self._source = source

    @classmethod
    def build(cls, texts: Iterable[str], k1: float = 1.2, b: float = 0.75) -> KeywordIndex:
        import bm25s
        from bm25s.tokenization import Tokenized

        vocab: dict[str, int] = {}
        # term ids as int32 arrays: a million passages' tokens as Python strings would take gigabytes
        ids = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokenize(text)), dtype=np.int32) for text in texts]
        model = bm25s.BM25(k1=k1, b=b, method=_METHOD)
        _quiet()
        model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        s = model.scores
        return cls(s["data"], s["indices"], s["indptr"], model.vocab_dict, int(s["num_docs"]), k1, model)

    def save(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        if isinstance(self._source, Path):  # loaded from a saved index: its files, as they are
            for name in FILES:
                shutil.copyfile(self._source / name, directory / name)
        else:
            self._source.save(str(directory), show_progress=False)
        return [directory / name for name in FILES]

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> KeywordIndex:
        """The files bm25s saved (checksum-verified by the caller), read with numpy: the score arrays memory-mapped if ``mmap``."""
        params = json.loads((directory / FILES[0]).read_text(encoding="utf-8"))
        if params.get("method") != _METHOD:
            raise ValueError(f"BM25 method {params.get('method')!r}, not {_METHOD}")
        vocab = json.loads((directory / FILES[1]).read_text(encoding="utf-8"))
        mode = "r" if mmap else None
        data, indices, indptr = (np.load(directory / name, mmap_mode=mode, allow_pickle=False) for name in FILES[2:])
        return cls(data, indices, indptr, vocab, int(params["num_docs"]), float(params["k1"]), directory)

    def known(self, terms: Iterable[str]) -> list[str]:
        return [t for t in dict.fromkeys(terms) if t in self._vocab and self._df[self._vocab[t]] > 0]

    def scores(self, question: str) -> np.ndarray:
        """Every passage's BM25 score for the question's terms (zeros when none is in the vocabulary)."""
        scores = np.zeros(self.n, dtype=np.float32)
        for term in self.known(tokenize(question)):  # the terms' columns added in question order, as bm25s' get_scores does
            col = self._vocab[term]
            start, end = int(self.indptr[col]), int(self.indptr[col + 1])
            np.add.at(scores, self.indices[start:end], self.data[start:end])  # faster than += on fancy indices here
        return scores * np.float32(self._scale)

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
