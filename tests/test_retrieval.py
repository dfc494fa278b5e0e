from __future__ import annotations

import itertools

import pytest

from ragbot.retrieval import Retriever
from ragbot.terms import tokenize

# Questions in a user's words, with a phrase of the passage that answers them.
KNOWN = [
    ("What share of Korea's energy imports goes through the Malacca Strait?", "About 90 per cent of South Korea’s energy supplies"),
    ("In which year did South Korea become a sectoral dialogue partner of ASEAN?", "sectoral dialogue partner"),
    ("Which body is at the centre of defence cooperation among ASEAN member states?", "highest decision-making body"),
    ("What three principles guide the joint statement establishing the CSP?", "guided by three principles"),
    ("Why might peace cooperation work better than security cooperation for ASEAN and Korea?", "peace cooperation"),
]


def test_tokenize_folds_case_plurals_and_stopwords():
    assert tokenize("The Partnerships of ASEAN's members") == ["partnership", "asean", "member"]
    assert tokenize("What are the policies?") == ["policy"]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_known_questions_find_their_passage(pipeline, mode):
    found = 0
    for question, phrase in KNOWN:
        hits = pipeline.retriever.run(question, k=5, mode=mode).hits
        found += any(phrase in h.passage.text for h in hits)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert found >= len(KNOWN) - (1 if mode == "bm25" else 0)


def test_hybrid_puts_the_answer_first(pipeline):
    first = sum(phrase in pipeline.retriever.run(q, k=1).hits[0].passage.text for q, phrase in KNOWN)
    assert first >= 4


def test_document_filter_and_k(pipeline):
    only = "2013-12_rsis_south-korea-defence-diplomacy-east-asia.txt"
    hits = pipeline.retriever.run("defence cooperation with ASEAN", k=7, docs={only}).hits
    assert len(hits) == 7 and {h.passage.doc_id for h in hits} == {only}


@pytest.mark.parametrize("weight", [0.0, 0.3])
def test_a_hybrid_passage_scores_its_best_sentence_plus_its_second_best_and_its_cosine(pipeline, weight):
    settings = pipeline.settings.model_copy(update={"second_sentence_weight": weight})
    retriever = Retriever(pipeline.index, pipeline.encoder, settings)
    hits = retriever.run("Why might peace cooperation work better than security cooperation for ASEAN and Korea?", k=5).hits
    for h in hits:
        best, second = sorted(h.sentence_scores, reverse=True)[:2] if len(h.sentence_scores) > 1 else (h.sentence_scores[0], 0.0)
        assert h.score == pytest.approx(best + weight * second + settings.passage_weight * h.dense, abs=1e-5)


def test_the_filter_and_the_ranking_hold_on_an_hnsw_index(pipeline):
    """A library past ann_from is searched through HNSW: on the shipped briefs it ranks as exact search does."""
    from ragbot.index.reader import Index

    index = pipeline.index
    settings = pipeline.settings.model_copy(update={"ann_from": 1})
    graph = Index.from_arrays(index.manifest, index.passages, index.passage_vectors(), index.sentence_vectors, settings)
    approximate = Retriever(graph, pipeline.encoder, settings)
    for question, _ in KNOWN:
        exact_ids = [h.passage.passage_id for h in pipeline.retriever.run(question, k=10).hits]
        assert [h.passage.passage_id for h in approximate.run(question, k=10).hits] == exact_ids
    only = "2013-12_rsis_south-korea-defence-diplomacy-east-asia.txt"
    assert {h.passage.doc_id for h in approximate.run("defence cooperation", k=5, docs={only}).hits} == {only}
