"""Which terms each passage and each sentence holds, saved at index time so a question never tokenizes passages."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragbot.chunking import Passage
from ragbot.index.npy_file import ConcatRows, concat_starts, flat_ranges, ranges_of, write_npy
from ragbot.terms import term_id, tokenize


@dataclass(frozen=True)
class QueryTerms:
    """A question's term ids (sorted) with the weight of each."""

    ids: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, weights: dict[str, float]) -> QueryTerms:
        summed: dict[int, float] = {}
        for term, w in weights.items():
            summed[term_id(term)] = summed.get(term_id(term), 0.0) + w
        ids = np.array(sorted(summed), dtype=np.uint32)
        return cls(ids, np.array([summed[int(i)] for i in ids], dtype=np.float64))

    def weigh(self, ids: np.ndarray) -> np.ndarray:
        """Each id's weight in the question (0 for a term the question does not hold)."""
        if not len(self.ids) or not len(ids):
            return np.zeros(len(ids))
        pos = np.searchsorted(self.ids, ids).clip(max=len(self.ids) - 1)
        return np.where(self.ids[pos] == ids, self.weights[pos], 0.0)


@dataclass(frozen=True)
class TermSets:
    """Sets of term ids stored flat: set i is ids[start[i]:start[i + 1]], each id once (ids from ragbot.terms.term_id)."""

    ids: np.ndarray | ConcatRows  # memory-mapped when read from an index; one part per segment
    start: np.ndarray

    @classmethod
    def from_sets(cls, sets: Iterable[Iterable[int]]) -> TermSets:
        builder = _Builder()
        for terms in sets:
            builder.add(set(terms))
        return builder.done()

    @classmethod
    def read(cls, ids_path: Path, start_path: Path) -> TermSets:
        """Memory-mapped ids (a few hundred MB at 10^6 passages: gathered in one call, unlike a pread per passage)."""
        ids = np.load(ids_path, mmap_mode="r", allow_pickle=False)
        start = np.load(start_path, allow_pickle=False)
        if start.ndim != 1 or not len(start) or int(start[-1]) != len(ids):
            raise ValueError(f"{start_path.name} does not match {ids_path.name}")
        return cls(ids, start)

    @classmethod
    def concat(cls, parts: list[TermSets]) -> TermSets:
        """The sets of several segments as one, numbered across them in order (ids read from each part where it lies)."""
        if len(parts) == 1:
            return parts[0]
        return cls(ConcatRows([p.ids for p in parts]), concat_starts([p.start for p in parts]))

    def __len__(self) -> int:
        return len(self.start) - 1

    def cover(self, starts: np.ndarray, stops: np.ndarray, query: QueryTerms) -> np.ndarray:
        """For every set in the ranges starts[i]:stops[i], one after another: the summed weight of the query terms it holds."""
        sets = flat_ranges(starts, stops)
        ids = ranges_of(self.ids, self.start[starts], self.start[stops])
        labels = np.repeat(np.arange(len(sets)), self.start[sets + 1] - self.start[sets])
        return np.bincount(labels, weights=query.weigh(ids), minlength=len(sets))


def write_term_sets(ids_path: Path, start_path: Path, *parts: TermSets) -> None:
    """The parts' sets, one after another, as two .npy files."""
    offsets = np.cumsum([0] + [int(p.start[-1]) for p in parts[:-1]])
    write_npy(ids_path, *(p.ids for p in parts))
    write_npy(start_path, parts[0].start[:1], *(p.start[1:] + o for p, o in zip(parts, offsets, strict=True)))


def passage_term_sets(passages: Iterable[Passage]) -> tuple[TermSets, TermSets]:
    """The terms of each passage (title and section headers included, as BM25 sees it) and of each of its sentences."""
    by_passage, by_sentence = _Builder(), _Builder()
    for p in passages:
        held = [{term_id(t) for t in tokenize(text)} for text in p.sentence_texts()]
        for terms in held:
            by_sentence.add(terms)
        # the passage's terms: its sentences' plus the header's and any text between sentences (tokenized once)
        bounds = [0, *(i for span in p.sentences for i in span), len(p.text)]
        rest = " ".join(p.text[a:b] for a, b in zip(bounds[::2], bounds[1::2], strict=True))
        full = p.embedding_text(True)
        by_passage.add({term_id(t) for t in tokenize(f"{full[: len(full) - len(p.text)]} {rest}")}.union(*held))
    return by_passage.done(), by_sentence.done()


class _Builder:
    """Sets appended one by one into two compact arrays (a million passages' sets as Python objects would take gigabytes)."""

    def __init__(self) -> None:
        self.ids, self.lengths = array("I"), array("q", [0])

    def add(self, distinct: set[int]) -> None:
        self.ids.extend(distinct)
        self.lengths.append(len(distinct))

    def done(self) -> TermSets:
        return TermSets(np.frombuffer(self.ids, dtype=np.uint32).copy(), np.cumsum(np.frombuffer(self.lengths, dtype=np.int64)))
