"""The passage vectors in FAISS: exact inner product for small libraries, an HNSW graph past ``ann_from`` passages."""

from __future__ import annotations

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


class DenseSearch:
    """Top-k passages by cosine similarity to a question vector, over all rows or a chosen few."""

    def __init__(self, index: faiss.Index, ef_search: int = 128) -> None:
        if ef_search < 1:
            raise ValueError(f"ef_search must be at least 1, got {ef_search}")
        self.index, self.ef_search = index, ef_search

    def run(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, similarities), best first; at most k, fewer when the index or the allowed rows hold fewer."""
        n = self.index.ntotal
        if not n or k < 1 or (rows is not None and not len(rows)):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if rows is not None and len(rows) <= EXACT_FILTER_ROWS:
            sims = self.vectors_of(rows) @ query
            top = np.argsort(-sims, kind="stable")[:k]
            return rows[top].astype(np.int64), sims[top].astype(np.float32)
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k)) if kind(self.index) == "hnsw" else faiss.SearchParameters()
        if rows is not None:
            params.sel = faiss.IDSelectorBatch(rows.astype(np.int64))
        sims, found = self.index.search(query[None, :].astype(np.float32), min(k, n), params=params)
        keep = found[0] >= 0
        return found[0][keep].astype(np.int64), sims[0][keep]

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.index.d), np.float32)
        return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
