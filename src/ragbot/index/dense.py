"""The passage vectors in FAISS, one index per segment: exact inner product for small segments, an HNSW graph past ``ann_from`` passages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

# A filter (the briefs a user chose) this selective is searched exactly over its own rows: cheap, and no graph misses.
EXACT_FILTER_ROWS = 65_536


def build_vectors(vectors: np.ndarray, ann_from: int, hnsw_m: int = 32, ef_construction: int = 80) -> faiss.Index:
    """A flat index below ``ann_from`` vectors, else HNSW (inner product on normalised vectors is cosine)."""
    dim = vectors.shape[1]
    if len(vectors) < ann_from:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def read_vectors(path: Path, extend: bool = False) -> faiss.Index:
    """Read a saved (checksum-verified) index with its vectors memory-mapped, or whole when it is to be ``extend``ed."""
    return faiss.read_index(str(path), 0 if extend else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


class DenseVectors:
    """A library's passage vectors: one FAISS index per segment, rows numbered across the segments in order."""

    def __init__(self, parts: Sequence[faiss.Index], dim: int) -> None:
        if any(p.d != dim for p in parts):
            raise ValueError(f"every segment's vectors must have {dim} dimensions")
        self.parts, self.d = list(parts), dim
        self.offsets = np.cumsum([0] + [p.ntotal for p in self.parts]).astype(np.int64)

    @property
    def ntotal(self) -> int:
        return int(self.offsets[-1])

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these rows, in their order."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), self.d), np.float32)
        for i, (part, offset) in enumerate(zip(self.parts, self.offsets.tolist(), strict=False)):
            mine = (rows >= offset) & (rows < self.offsets[i + 1])
            if mine.any():
                out[mine] = part.reconstruct_batch(rows[mine] - offset)
        return out

    def reconstruct_n(self, start: int, n: int) -> np.ndarray:
        return self.reconstruct_batch(np.arange(start, start + n, dtype=np.int64))


class DenseSearch:
    """Top-k passages by cosine similarity to a question vector, over all rows or a chosen few."""

    def __init__(self, vectors: DenseVectors | faiss.Index, ef_search: int = 128) -> None:
        if ef_search < 1:
            raise ValueError(f"ef_search must be at least 1, got {ef_search}")
        self.vectors = vectors if isinstance(vectors, DenseVectors) else DenseVectors([vectors], vectors.d)
        self.ef_search = ef_search

    def run(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, similarities), best first; at most k, fewer when the index or the allowed rows hold fewer."""
        if not self.vectors.ntotal or k < 1 or (rows is not None and not len(rows)):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if rows is not None and len(rows) <= EXACT_FILTER_ROWS:
            sims = self.vectors_of(rows) @ query
            top = np.argsort(-sims, kind="stable")[:k]
            return rows[top].astype(np.int64), sims[top].astype(np.float32)
        found, similar = [], []
        for part, start, stop in zip(
            self.vectors.parts, self.vectors.offsets[:-1].tolist(), self.vectors.offsets[1:].tolist(), strict=True
        ):
            local = None if rows is None else rows[(rows >= start) & (rows < stop)] - start
            if part.ntotal and (local is None or len(local)):
                r, s = self._search(part, query, k, local)
                found.append(r + start)
                similar.append(s)
        if len(found) == 1:
            return found[0], similar[0]
        rows_, sims_ = (np.concatenate(found), np.concatenate(similar)) if found else (np.zeros(0, np.int64), np.zeros(0, np.float32))
        top = np.argsort(-sims_, kind="stable")[:k]  # segments in order, so ties keep row order as one index would
        return rows_[top], sims_[top]

    def _search(self, part: faiss.Index, query: np.ndarray, k: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """One segment's top k (its own row numbers)."""
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k)) if kind(part) == "hnsw" else faiss.SearchParameters()
        if rows is not None:
            params.sel = faiss.IDSelectorBatch(rows.astype(np.int64))
        sims, found = part.search(query[None, :].astype(np.float32), min(k, part.ntotal), params=params)
        keep = found[0] >= 0
        return found[0][keep].astype(np.int64), sims[0][keep]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors.reconstruct_batch(rows)
