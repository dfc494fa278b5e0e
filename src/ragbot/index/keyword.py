"""BM25 over a library kept in segments: each segment saves its term counts, a question is scored with the whole library's statistics.

BM25's IDF and average passage length belong to the whole library, so a store that bakes them into
its saved scores (bm25s keeps idf x tf-part per passage and term) must rebuild everything when one
brief arrives; bm25s has no way to add documents (https://github.com/xhluca/bm25s/issues/5). A
segment here saves only what never changes once written: each term's postings (passage, count) and
each passage's length. A question's score takes N, document frequencies and the average length
over all segments, as Lucene does, so adding a brief writes one small segment and nothing else.
Each posting's length-normalised tf part is computed once per process from those statistics, so a
question only weighs and adds. The scores are bm25s' "lucene" method's, times k1 + 1
(tests/index/test_keyword.py checks that, for one segment and for several).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ragbot.index.npy_file import write_npy
from ragbot.terms import term_id, tokenize

# a segment's files, in the order of KeywordSegment's fields
FILES = ("terms", "indptr", "rows", "counts", "lengths")
_BLOCK = 1 << 22  # postings per step when a segment's are computed over


@dataclass(frozen=True)
class KeywordSegment:
    """One segment's postings: term column j holds rows[indptr[j]:indptr[j + 1]] with their counts."""

    terms: np.ndarray  # sorted term ids (ragbot.terms.term_id), one per column
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32 passage rows within the segment, ascending within a column
    counts: np.ndarray  # uint16 occurrences of the term in the passage
    lengths: np.ndarray  # uint32 terms per passage (stopwords out, as tokenize counts them)

    @classmethod
    def build(cls, texts: Iterable[str]) -> KeywordSegment:
        """Postings of the texts' terms (array-backed: a million passages' terms as Python objects would take gigabytes)."""
        terms, counts, held, lengths = array("I"), array("H"), array("q"), array("I")
        for text in texts:
            ids = np.fromiter((term_id(t) for t in tokenize(text)), dtype=np.uint32)
            distinct, n = np.unique(ids, return_counts=True)
            terms.extend(distinct.tolist())
            counts.extend(np.minimum(n, 65_535).tolist())
            held.append(len(distinct))
            lengths.append(len(ids))
        flat_terms = np.frombuffer(terms, dtype=np.uint32)
        rows = np.repeat(np.arange(len(held), dtype=np.int32), np.frombuffer(held, dtype=np.int64))
        order = np.argsort(flat_terms, kind="stable")  # by term; rows stay ascending within each term
        columns, first = np.unique(flat_terms[order], return_index=True)
        indptr = np.append(first, len(order)).astype(np.int64)
        return cls(
            columns, indptr, rows[order], np.frombuffer(counts, dtype=np.uint16)[order], np.frombuffer(lengths, dtype=np.uint32).copy()
        )

    @classmethod
    def concat(cls, parts: Sequence[KeywordSegment]) -> KeywordSegment:
        """One segment holding the parts' passages in order (their postings merged, nothing tokenized again)."""
        offsets = np.cumsum([0] + [p.n for p in parts[:-1]])
        terms = np.concatenate([np.repeat(p.terms, np.diff(p.indptr)) for p in parts])
        rows = np.concatenate([np.asarray(p.rows, dtype=np.int32) + np.int32(o) for p, o in zip(parts, offsets, strict=True)])
        order = np.argsort(terms, kind="stable")  # parts in order, so rows stay ascending within each term
        columns, first = np.unique(terms[order], return_index=True)
        counts = np.concatenate([np.asarray(p.counts) for p in parts])[order]
        lengths = np.concatenate([np.asarray(p.lengths) for p in parts])
        return cls(columns.astype(np.uint32), np.append(first, len(order)).astype(np.int64), rows[order], counts, lengths)

    @classmethod
    def read(cls, paths: Sequence[Path]) -> KeywordSegment:
        """The files save() wrote (checksum-verified by the caller), memory-mapped."""
        terms, indptr, rows, counts, lengths = (np.load(p, mmap_mode="r", allow_pickle=False) for p in paths)
        segment = cls(terms, np.asarray(indptr), rows, counts, lengths)
        if len(indptr) != len(terms) + 1 or int(indptr[-1]) != len(rows) or len(rows) != len(counts):
            raise ValueError("BM25 postings do not match their columns")
        return segment

    def save(self, paths: Sequence[Path]) -> None:
        for path, data in zip(paths, (self.terms, self.indptr, self.rows, self.counts, self.lengths), strict=True):
            write_npy(path, data)

    @property
    def n(self) -> int:
        return len(self.lengths)

    def column(self, term: int) -> tuple[int, int]:
        """Where the term's postings lie in rows and counts (an empty range when no passage holds it)."""
        j = int(np.searchsorted(self.terms, term))
        if j == len(self.terms) or int(self.terms[j]) != term:
            return 0, 0
        return int(self.indptr[j]), int(self.indptr[j + 1])


class KeywordIndex:
    """Okapi BM25 (Lucene's variant, scores times k1 + 1 so they read as the textbook formula's) over a library's segments."""

    def __init__(self, segments: Sequence[KeywordSegment], k1: float = 1.2, b: float = 0.75) -> None:
        if k1 <= 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 > 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.segments, self.k1, self.b = list(segments), float(k1), float(b)
        self.offsets = np.cumsum([0] + [s.n for s in self.segments]).astype(np.int64)
        self.n = int(self.offsets[-1])
        total = sum(int(np.asarray(s.lengths, dtype=np.int64).sum()) for s in self.segments)
        self.avgdl = total / self.n if self.n else 1.0
        self._variants: dict[tuple[float, float], KeywordIndex] = {}

    def with_params(self, k1: float, b: float) -> KeywordIndex:
        """The same postings scored with other parameters (applied per question; one scorer per pair, so its tf parts are computed once)."""
        if (k1, b) == (self.k1, self.b):
            return self
        if (k1, b) not in self._variants:
            self._variants[(k1, b)] = KeywordIndex(self.segments, k1, b)
        return self._variants[(k1, b)]

    @cached_property
    def _tf_parts(self) -> list[np.ndarray]:
        """Per segment, each posting's tf / (tf + k1 * (1 - b + b * length / avgdl)), what a question's term weight multiplies.

        Computed once per process from the library's statistics (4 bytes a posting): it halves a large
        library's scoring per question (docs/measurements/scaling.md), and it is exact, since the
        statistics are the ones this index was loaded with.
        """
        base, per_length = np.float32(self.k1 * (1 - self.b)), np.float32(self.k1 * self.b / self.avgdl)
        parts = []
        for segment in self.segments:
            norms = base + per_length * np.asarray(segment.lengths, dtype=np.float32)
            part = np.empty(len(segment.rows), np.float32)
            for start in range(0, len(part), _BLOCK):  # in blocks: no whole-library temporaries
                tf = segment.counts[start : start + _BLOCK].astype(np.float32)
                denominator = norms[segment.rows[start : start + _BLOCK]]
                denominator += tf
                np.divide(tf, denominator, out=part[start : start + _BLOCK])
            parts.append(part)
        return parts

    def scores(self, question: str) -> np.ndarray:
        """Every passage's BM25 score for the question's terms, each term once (zeros when none is in the library)."""
        scores = np.zeros(self.n, dtype=np.float32)
        for term in dict.fromkeys(tokenize(question)):
            columns = [s.column(term_id(term)) for s in self.segments]
            df = sum(end - start for start, end in columns)
            if not df:
                continue
            weight = np.float32(self._idf(df) * (self.k1 + 1))
            parts = zip(self.segments, self.offsets.tolist(), self._tf_parts, columns, strict=False)
            for segment, offset, part, (start, end) in parts:
                if end > start:  # faster than += on fancy indices here
                    np.add.at(scores[offset : offset + segment.n], segment.rows[start:end], part[start:end] * weight)
        return scores

    def idf(self, term: str) -> float | None:
        """Lucene's IDF of a term, or None when no passage holds it."""
        df = sum(end - start for start, end in (s.column(term_id(term)) for s in self.segments))
        return self._idf(df) if df else None

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    @property
    def rarest(self) -> float:
        """The IDF of a term held by one passage: the weight of a word the library never uses."""
        return self._idf(1) if self.n else 1.0
