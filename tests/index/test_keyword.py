from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ragbot.index.keyword import KeywordIndex

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
    assert isinstance(loaded.model.scores["data"], np.memmap)
    for q in ("oil", "rice strait", "nothing"):
        np.testing.assert_array_equal(loaded.scores(q), keyword.scores(q))
