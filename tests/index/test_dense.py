from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from ragbot.index.dense import DenseSearch, build_vectors, kind, read_vectors


def _library(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, like embeddings of passages on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    x = centres[rng.integers(0, 20, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_index_kind_follows_the_library_size():
    x = _library(300)
    assert kind(build_vectors(x, ann_from=301)) == "flat"
    assert kind(build_vectors(x, ann_from=300)) == "hnsw"


def test_hnsw_results_match_exact_search_on_a_small_library(tmp_path: Path):
    both = _library(3050)
    x, queries = both[:3000], both[3000:]  # questions on the library's topics, not in it
    exact, graph = DenseSearch(build_vectors(x, ann_from=10**9)), DenseSearch(build_vectors(x, ann_from=1))
    recall = np.mean([len(set(exact.run(q, 10)[0]) & set(graph.run(q, 10)[0])) / 10 for q in queries])
    assert recall >= 0.95  # the scale issue's target for recall@10 against exact search
    rows, sims = exact.run(queries[0], 10)
    np.testing.assert_allclose(sims, x[rows] @ queries[0], rtol=1e-5)
    faiss.write_index(graph.vectors.parts[0], str(tmp_path / "v.faiss"))
    again = DenseSearch(read_vectors(tmp_path / "v.faiss"))
    assert kind(again.vectors.parts[0]) == "hnsw" and list(again.run(queries[0], 10)[0]) == list(graph.run(queries[0], 10)[0])


@pytest.mark.parametrize("ann_from", [1, 10**9])
def test_a_row_filter_returns_only_allowed_rows_best_first(ann_from: int):
    x = _library(500)
    search = DenseSearch(build_vectors(x, ann_from))
    allowed = np.arange(100, 140)
    rows, sims = search.run(x[120], 5, allowed)
    assert rows[0] == 120 and set(rows) <= set(allowed) and list(sims) == sorted(sims, reverse=True)
    assert len(search.run(x[0], 5, np.zeros(0, np.int64))[0]) == 0
