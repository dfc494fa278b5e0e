"""One segment of the index: some briefs' passages and everything made from them, in files of its own.

An index is a list of segments read as one library (rows numbered across them in order). A build
writes only new segments and keeps the others' files untouched, so adding a brief to a large
library writes a small segment instead of the whole index; small segments are merged as they
accumulate (``merge_plan``), as Lucene merges its segments.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ragbot.chunking import Passage
from ragbot.index.dense import build_vectors, kind, read_vectors
from ragbot.index.keyword import FILES as KEYWORD_FILES
from ragbot.index.keyword import KeywordSegment
from ragbot.index.npy_file import ConcatRows, NpyFile, concat_starts, ranges_of, write_npy
from ragbot.index.passages import ConcatPassages, PassageStore, write_passages
from ragbot.index.term_sets import TermSets, passage_term_sets, write_term_sets

# A segment smaller than this is merged into the one before it: a small library stays one segment.
MIN_SEGMENT = 4_096
# The newest segment is merged into the one before it while that one is at most this many times larger,
# so sizes grow geometrically and each passage is rewritten O(log n) times over a library's life.
MERGE_RATIO = 4
# More segments than this are merged pairwise, smallest first (each segment costs a search).
MAX_SEGMENTS = 12


def segment_files(segment: str) -> dict[str, str]:
    """The file of each of a segment's artifacts."""
    return {
        "passages": f"passages-{segment}.jsonl",
        "offsets": f"passages-{segment}.offsets.npy",
        "vectors": f"vectors-{segment}.faiss",
        "sentences": f"sentences-{segment}.npy",
        "sentence_start": f"sentences-{segment}.start.npy",
        "passage_terms": f"passages-{segment}.terms.npy",
        "passage_terms_start": f"passages-{segment}.terms.start.npy",
        "sentence_terms": f"sentences-{segment}.terms.npy",
        "sentence_terms_start": f"sentences-{segment}.terms.start.npy",
        **{f"bm25_{name}": f"bm25-{segment}.{name}.npy" for name in KEYWORD_FILES},
    }


KINDS = tuple(segment_files(""))


@dataclass
class Segment:
    """A segment's passages, their vectors, sentence vectors, BM25 postings and term ids (rows numbered within it)."""

    passages: Sequence[Passage]
    vectors: faiss.Index
    sentence_vectors: np.ndarray | NpyFile | ConcatRows
    sentence_start: np.ndarray  # passage i's sentences are rows sentence_start[i]:sentence_start[i + 1]
    keyword: KeywordSegment
    passage_terms: TermSets
    sentence_terms: TermSets
    vectors_path: Path | None = None  # the FAISS file it was read from (a merge extends it rather than rebuilding)

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def from_arrays(
        cls, passages: Sequence[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray, ann_from: int, hnsw_m: int
    ) -> Segment:
        """A segment in memory, everything but the vectors derived from the passages' text."""
        return cls(
            passages,
            build_vectors(vectors, ann_from, hnsw_m),
            sentence_vectors,
            sentence_start(passages),
            KeywordSegment.build(p.embedding_text(True) for p in passages),
            *passage_term_sets(passages),
        )

    @classmethod
    def read(cls, paths: dict[str, Path]) -> Segment:
        """A segment from its (checksum-verified) files: vectors and postings memory-mapped, passages read by row."""
        segment = cls(
            PassageStore(paths["passages"], paths["offsets"]),
            read_vectors(paths["vectors"]),
            NpyFile(paths["sentences"]),
            np.load(paths["sentence_start"], allow_pickle=False),
            KeywordSegment.read([paths[f"bm25_{name}"] for name in KEYWORD_FILES]),
            TermSets.read(paths["passage_terms"], paths["passage_terms_start"]),
            TermSets.read(paths["sentence_terms"], paths["sentence_terms_start"]),
            paths["vectors"],
        )
        n, start = len(segment.passages), segment.sentence_start
        if not segment.vectors.ntotal == n == segment.keyword.n == len(start) - 1 == len(segment.passage_terms):
            raise ValueError(f"{segment.vectors.ntotal} vectors for {n} passages")
        if not int(start[-1]) == len(segment.sentence_vectors) == len(segment.sentence_terms):
            raise ValueError(f"{int(start[-1])} sentences, {len(segment.sentence_vectors)} sentence vectors")
        return segment

    def write(self, directory: Path, name: str) -> dict[str, str]:
        """Write every artifact under the segment's name (each file flushed to disk); the files, by kind."""
        files = segment_files(name)
        path = {k: directory / f for k, f in files.items()}
        write_passages(self.passages, path["passages"], path["offsets"])
        faiss.write_index(self.vectors, str(path["vectors"]))  # faiss' own writer, flushed below
        with path["vectors"].open("rb") as f:
            os.fsync(f.fileno())
        write_npy(path["sentences"], self.sentence_vectors)
        write_npy(path["sentence_start"], self.sentence_start)
        write_term_sets(path["passage_terms"], path["passage_terms_start"], self.passage_terms)
        write_term_sets(path["sentence_terms"], path["sentence_terms_start"], self.sentence_terms)
        self.keyword.save([path[f"bm25_{n}"] for n in KEYWORD_FILES])
        return files

    def select(self, rows: np.ndarray, ann_from: int, hnsw_m: int) -> Segment:
        """A new segment of only these rows (what a brief's removal leaves): vectors kept, the rest derived again."""
        first, last = self.sentence_start[rows], self.sentence_start[rows + 1]
        return Segment.from_arrays(
            [self.passages[int(i)] for i in rows],
            self.vectors.reconstruct_batch(rows.astype(np.int64)) if len(rows) else np.zeros((0, self.vectors.d), np.float32),
            ranges_of(self.sentence_vectors, first, last),
            ann_from,
            hnsw_m,
        )

    @classmethod
    def merge(cls, parts: list[Segment], ann_from: int, hnsw_m: int) -> Segment:
        """One segment holding the parts' rows in order: nothing embedded or tokenized again.

        A first part read from disk has its FAISS index read whole and extended with the others'
        vectors (an HNSW graph is not rebuilt), unless the merged segment crosses ``ann_from``.
        """
        total = sum(len(p) for p in parts)
        rest = np.vstack(
            [p.vectors.reconstruct_n(0, p.vectors.ntotal) for p in parts[1:] if p.vectors.ntotal]
            or [np.zeros((0, parts[0].vectors.d), np.float32)]
        )
        head = parts[0]
        if head.vectors_path is not None and (kind(head.vectors) == "hnsw" or total < ann_from):
            dense = read_vectors(head.vectors_path, extend=True)
            if len(rest):
                dense.add(np.ascontiguousarray(rest, dtype=np.float32))
        else:
            first = head.vectors.reconstruct_n(0, head.vectors.ntotal) if head.vectors.ntotal else rest[:0]
            dense = build_vectors(np.vstack([first, rest]), ann_from, hnsw_m)
        return cls(
            ConcatPassages([p.passages for p in parts]),
            dense,
            ConcatRows([p.sentence_vectors for p in parts]),
            concat_starts([p.sentence_start for p in parts]),
            KeywordSegment.concat([p.keyword for p in parts]),
            TermSets.concat([p.passage_terms for p in parts]),
            TermSets.concat([p.sentence_terms for p in parts]),
        )


def sentence_start(passages: Sequence[Passage]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p.sentences) for p in passages])]).astype(np.int64)


def merge_plan(sizes: list[int]) -> list[list[int]]:
    """Which adjacent segments (by position, oldest first; the last is the newest) to write as one."""
    groups = [[i] for i in range(len(sizes))]

    def size(group: list[int]) -> int:
        return sum(sizes[i] for i in group)

    while len(groups) > 1 and (size(groups[-2]) < MIN_SEGMENT or size(groups[-2]) <= MERGE_RATIO * size(groups[-1])):
        groups[-2:] = [groups[-2] + groups[-1]]
    while len(groups) > MAX_SEGMENTS:
        j = min(range(len(groups) - 1), key=lambda j: size(groups[j]) + size(groups[j + 1]))
        groups[j : j + 2] = [groups[j] + groups[j + 1]]
    return groups
