"""Dense (FAISS inner product on normalised vectors), BM25, and their fusion into ranked hits."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ragbot.chunking import Passage
from ragbot.index import Index
from ragbot.models import Encoder
from ragbot.settings import Settings

_STOPWORD_TEXT = (
    "a an the and or but of to in on at for from by with as is are was were be been being it its this "
    "that these those there their them they he she his her we our you your i me my what which who whom "
    "whose when where why how do does did doing done has have had having can could would should will "
    "shall may might must not no nor so than too very just about into over under between among also any "
    "all each both more most other some such only own same s t if then once here out up down off again "
    "further brief briefs say says according tell me please "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stopwords; plural and possessive endings folded."""
    out = []
    for word in re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", text.lower()):
        word = re.sub(r"['’]s$", "", word)
        if word in _STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        out.append(word)
    return out


class BM25:
    """Okapi BM25 over passages (title and section count as passage text)."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        docs = [Counter(tokenize(t)) for t in texts]
        self.lengths = np.array([sum(d.values()) for d in docs], dtype=np.float32)
        self.avg_len = float(self.lengths.mean()) if len(docs) else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, d in enumerate(docs):
            for t, tf in d.items():
                self.postings.setdefault(t, []).append((i, tf))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.lengths), dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avg_len)
        for term in set(tokenize(query)):
            for i, tf in self.postings.get(term, ()):
                scores[i] += self.idf[term] * tf * (self.k1 + 1) / (tf + norm[i])
        return scores


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the ranking score (fused for hybrid)
    dense: float  # cosine similarity of question and passage
    bm25: float
    rank: int  # 1-based


@dataclass(frozen=True)
class Retrieval:
    """What retrieval hands to an answer engine: ranked hits and the question's vector."""

    question: str
    hits: list[Hit]
    query_vector: np.ndarray


class Retriever:
    """Ranks an index's passages for a question: dense, BM25, or reciprocal-rank fusion of both."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings) -> None:
        self.index, self.encoder, self.settings = index, encoder, settings
        self.bm25 = BM25([p.embedding_text(True) for p in index.passages], settings.bm25_k1, settings.bm25_b)
        self._doc_of = np.array([p.doc_id for p in index.passages], dtype=object)

    def run(self, question: str, k: int | None = None, docs: set[str] | None = None, mode: str | None = None) -> Retrieval:
        k = k or self.settings.top_k
        mode = mode or self.settings.retriever
        qv = self.encoder.encode([question])[0]
        n = len(self.index.passages)
        dense = np.zeros(n, dtype=np.float32)  # always computed: the answer engine's abstention reads it
        if n:
            sims, rows = self.index.vectors.search(qv[None, :], n)
            dense[rows[0]] = sims[0]
        lexical = self.bm25.scores(question)
        allowed = np.ones(n, dtype=bool) if not docs else np.isin(self._doc_of, list(docs))
        if mode == "dense":
            score = dense.copy()
        elif mode == "bm25":
            score = lexical.copy()
        else:
            score = self._fuse(dense, lexical)
        score[~allowed] = -np.inf
        order = [i for i in np.argsort(-score, kind="stable")[:k] if np.isfinite(score[i])]
        hits = [Hit(self.index.passages[i], float(score[i]), float(dense[i]), float(lexical[i]), r + 1) for r, i in enumerate(order)]
        return Retrieval(question, hits, qv)

    def _fuse(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """Weighted reciprocal rank fusion; a passage with no query term gets no BM25 contribution."""
        s = self.settings
        fused = np.zeros(len(dense), dtype=np.float64)
        for scores, weight, present in ((dense, s.dense_weight, np.ones(len(dense), bool)), (lexical, s.bm25_weight, lexical > 0)):
            ranks = np.empty(len(scores), dtype=np.int64)
            ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
            fused += np.where(present, weight / (s.rrf_k + ranks), 0.0)
        return fused.astype(np.float32)
