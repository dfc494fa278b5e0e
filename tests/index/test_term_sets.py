from __future__ import annotations

from pathlib import Path

import numpy as np

from ragbot.chunking import chunk_document
from ragbot.corpus.folder import load_corpus
from ragbot.index.term_sets import QueryTerms, TermSets, passage_term_sets, write_term_sets
from ragbot.models.tokens import count_tokens
from ragbot.terms import term_id, tokenize


def _ids(*terms: str) -> set[int]:
    return {term_id(t) for t in terms}


def test_cover_sums_the_weights_of_the_question_terms_each_set_holds(tmp_path: Path):
    sets = TermSets.from_sets([_ids("trade", "korea"), _ids("korea"), set(), _ids("asean", "trade", "korea")])
    query = QueryTerms.of({"trade": 0.5, "korea": 0.25, "missing": 0.25})
    np.testing.assert_allclose(sets.cover(np.array([0]), np.array([4]), query), [0.75, 0.25, 0.0, 0.75])
    np.testing.assert_allclose(sets.cover(np.array([3, 1]), np.array([4, 3]), query), [0.75, 0.25, 0.0])
    more = TermSets.from_sets([_ids("missing")])
    write_term_sets(tmp_path / "t.npy", tmp_path / "t.start.npy", sets, more)
    read = TermSets.read(tmp_path / "t.npy", tmp_path / "t.start.npy")
    assert len(read) == 5
    np.testing.assert_allclose(read.cover(np.array([0]), np.array([5]), query), [0.75, 0.25, 0.0, 0.75, 0.25])


def test_stored_terms_are_the_tokenizer_s(settings):
    doc = load_corpus(settings.corpus_dir)[0]
    passages = chunk_document(doc, count_tokens, settings.chunk_tokens, settings.chunk_overlap)[:5]
    by_passage, by_sentence = passage_term_sets(passages)
    assert len(by_passage) == len(passages) and len(by_sentence) == sum(len(p.sentences) for p in passages)
    row = 0
    for i, p in enumerate(passages):
        held = set(by_passage.ids[by_passage.start[i] : by_passage.start[i + 1]].tolist())
        assert held == _ids(*tokenize(p.embedding_text(True))) or held >= _ids(*tokenize(p.text))
        assert _ids(*tokenize(p.title)) <= held
        for text in p.sentence_texts():
            assert set(by_sentence.ids[by_sentence.start[row] : by_sentence.start[row + 1]].tolist()) == _ids(*tokenize(text))
            row += 1
