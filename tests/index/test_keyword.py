from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ragbot.index.keyword import KeywordIndex
from ragbot.terms import tokenize

TEXTS = ["oil oil strait", "oil", "rice"]


def test_bm25_scores_a_hand_worked_case():
    # N = 3, lengths 3, 1, 1 (avg 5/3); "oil" is in 2 passages: idf = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6.
    # Passage 0: tf 2, length norm 1.2 (0.25 + 0.75 * 3 / (5/3)) = 1.92: ln 1.6 * 2 * 2.2 / (2 + 1.92).
    # Passage 1: tf 1, length norm 1.2 (0.25 + 0.75 * 0.6) = 0.84:       ln 1.6 * 1 * 2.2 / (1 + 0.84).
    keyword = KeywordIndex.build(TEXTS, k1=1.2, b=0.75)
    expected = [math.log(1.6) * 4.4 / 3.92, math.log(1.6) * 2.2 / 1.84, 0.0]
    np.testing.assert_allclose(keyword.scores("Oil?"), expected, rtol=1e-5)
    assert keyword.idf("oil") == pytest.approx(math.log(1.6)) and keyword.idf("never") is None
    assert keyword.rarest == pytest.approx(math.log(1 + 2.5 / 1.5))  # a term held by one passage
    assert not keyword.scores("the and of").any() and not keyword.scores("unknown words").any()


def test_bm25_round_trips_memory_mapped(tmp_path: Path):
    keyword = KeywordIndex.build(TEXTS)
    files = keyword.save(tmp_path / "bm25")
    assert all(f.is_file() for f in files)
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert isinstance(loaded.data, np.memmap) and isinstance(loaded.indices, np.memmap)
    for q in ("oil", "rice strait", "nothing"):
        np.testing.assert_array_equal(loaded.scores(q), keyword.scores(q))
    again = loaded.save(tmp_path / "copy")  # a loaded index saves its files as they are
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]


def test_loaded_bm25_scores_as_bm25s_does(tmp_path: Path):
    """Loading reads bm25s' files with numpy (no bm25s, so no scipy, at question time); the scores are bm25s' own."""
    import bm25s

    texts = ["oil oil strait of Malacca", "oil prices", "rice and oil", "the strait", "Korea and ASEAN, oil and rice"]
    KeywordIndex.build(texts).save(tmp_path / "bm25")
    loaded, model = KeywordIndex.load(tmp_path / "bm25"), bm25s.BM25.load(str(tmp_path / "bm25"), mmap=True)
    for q in ("oil", "Rice, oil and the strait?", "Malacca strait oil Korea", "unknown"):
        terms = loaded.known(tokenize(q))
        expected = np.asarray(model.get_scores(terms), dtype=np.float32) * 2.2 if terms else np.zeros(len(texts), np.float32)
        np.testing.assert_array_equal(loaded.scores(q), expected)


def test_a_bm25_method_needing_more_than_the_matrix_is_refused(tmp_path: Path):
    KeywordIndex.build(TEXTS).save(tmp_path / "bm25")
    params = tmp_path / "bm25" / "params.index.json"
    params.write_text(params.read_text().replace('"lucene"', '"bm25+"', 1))
    with pytest.raises(ValueError, match="bm25"):
        KeywordIndex.load(tmp_path / "bm25")
