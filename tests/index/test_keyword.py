from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ragbot.index.keyword import FILES, KeywordIndex, KeywordSegment
from ragbot.terms import tokenize

TEXTS = ["oil oil strait", "oil", "rice"]


def test_bm25_scores_a_hand_worked_case():
    # N = 3, lengths 3, 1, 1 (avg 5/3); "oil" is in 2 passages: idf = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6.
    # Passage 0: tf 2, length norm 1.2 (0.25 + 0.75 * 3 / (5/3)) = 1.92: ln 1.6 * 2 * 2.2 / (2 + 1.92).
    # Passage 1: tf 1, length norm 1.2 (0.25 + 0.75 * 0.6) = 0.84:       ln 1.6 * 1 * 2.2 / (1 + 0.84).
    keyword = KeywordIndex([KeywordSegment.build(TEXTS)], k1=1.2, b=0.75)
    expected = [math.log(1.6) * 4.4 / 3.92, math.log(1.6) * 2.2 / 1.84, 0.0]
    np.testing.assert_allclose(keyword.scores("Oil?"), expected, rtol=1e-5)
    assert keyword.idf("oil") == pytest.approx(math.log(1.6)) and keyword.idf("never") is None
    assert keyword.rarest == pytest.approx(math.log(1 + 2.5 / 1.5))  # a term held by one passage
    assert not keyword.scores("the and of").any() and not keyword.scores("unknown words").any()


def _files(folder: Path) -> list[Path]:
    return [folder / f"{name}.npy" for name in FILES]


def test_bm25_round_trips_memory_mapped(tmp_path: Path):
    segment = KeywordSegment.build(TEXTS)
    segment.save(_files(tmp_path))
    loaded = KeywordSegment.read(_files(tmp_path))
    assert isinstance(loaded.rows, np.memmap) and isinstance(loaded.counts, np.memmap)
    for q in ("oil", "rice strait", "nothing"):
        np.testing.assert_array_equal(KeywordIndex([loaded]).scores(q), KeywordIndex([segment]).scores(q))


TEXTS_5 = ["oil oil strait of Malacca", "oil prices", "rice and oil", "the strait", "Korea and ASEAN, oil and rice"]
QUESTIONS = ("oil", "Rice, oil and the strait?", "Malacca strait oil Korea", "unknown")


def _bm25s_scores(texts: list[str], question: str, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """bm25s' own scores (method "lucene") over the same terms, times k1 + 1."""
    import bm25s
    from bm25s.tokenization import Tokenized

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in texts]
    model = bm25s.BM25(k1=k1, b=b, method="lucene")
    model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
    terms = [t for t in dict.fromkeys(tokenize(question)) if t in vocab]
    return np.asarray(model.get_scores(terms), dtype=np.float32) * (k1 + 1) if terms else np.zeros(len(texts), np.float32)


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (0.9, 0.4)])
def test_bm25_scores_as_bm25s_does_whether_the_library_is_one_segment_or_several(k1: float, b: float):
    """Statistics are the whole library's: scores do not depend on how passages are split into segments."""
    one = KeywordIndex([KeywordSegment.build(TEXTS_5)]).with_params(k1, b)
    split = KeywordIndex([KeywordSegment.build(TEXTS_5[:2]), KeywordSegment.build(TEXTS_5[2:3]), KeywordSegment.build(TEXTS_5[3:])], k1, b)
    merged = KeywordIndex([KeywordSegment.concat([KeywordSegment.build(TEXTS_5[:2]), KeywordSegment.build(TEXTS_5[2:])])], k1, b)
    for q in QUESTIONS:
        expected = _bm25s_scores(TEXTS_5, q, k1, b)
        for keyword in (one, split, merged):
            np.testing.assert_allclose(keyword.scores(q), expected, rtol=1e-6)
    assert split.idf("oil") == one.idf("oil") == pytest.approx(math.log(1 + 1.5 / 4.5))


def test_damaged_postings_are_refused(tmp_path: Path):
    KeywordSegment.build(TEXTS).save(_files(tmp_path))
    np.save(tmp_path / "indptr.npy", np.array([0, 1], dtype=np.int64), allow_pickle=False)
    with pytest.raises(ValueError, match="postings"):
        KeywordSegment.read(_files(tmp_path))
