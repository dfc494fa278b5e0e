from __future__ import annotations

import re

import pytest

from ragbot.answer import ABSTAIN_TEXT
from ragbot.citations import markers
from ragbot.engines import create_engine
from ragbot.engines.extractive import ExtractiveEngine
from ragbot.errors import RagbotError

# Known questions in a user's words, and words the cited answer must hold.
ANSWERABLE = [
    ("What share of South Korea's energy supplies passes through the Malacca Strait?", "90 per cent"),
    ("In what year did South Korea become a sectoral dialogue partner of ASEAN?", "1989"),
    ("What did ASEAN and South Korea upgrade their partnership to in October 2024?", "Comprehensive Strategic Partnership"),
    ("Which body is the highest decision-making body for defence cooperation within ASEAN?", "ADMM"),
]
ABSENT = [
    "What is the recipe for kimchi stew?",
    "Who won the football World Cup in 2022?",
    "In what year did Korea sign a space exploration treaty with Brunei?",
]


def _check_cited(answer):
    assert not answer.abstained
    numbers = {c.n for c in answer.citations}
    assert numbers == set(range(1, len(numbers) + 1))
    # every sentence of the answer ends with a marker that points to a cited passage
    sentences = re.split(r"(?<=\])\s+", answer.text)
    assert all(markers(s) and set(markers(s)) <= numbers for s in sentences)
    for c in answer.citations:
        for s, e in c.spans:
            assert c.passage.text[s:e] in c.quote
        assert c.quote.split(" … ")[0] in c.passage.text
        assert c.passage.passage_id in {h.passage.passage_id for h in answer.retrieved} | {c.passage.passage_id}


@pytest.mark.parametrize(("question", "fact"), ANSWERABLE)
def test_known_questions_get_a_cited_answer(pipeline, question, fact):
    answer = pipeline.ask(question)
    _check_cited(answer)
    assert fact.lower() in answer.text.lower()
    assert any(fact.lower() in c.quote.lower() for c in answer.citations), "the fact is in a cited quote"


@pytest.mark.parametrize("question", ABSENT)
def test_absent_facts_are_abstained_on(pipeline, question):
    answer = pipeline.ask(question)
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.citations == []
    assert answer.status == "abstained" and answer.confidence is not None and 0 <= answer.confidence <= 1
    assert len(answer.retrieved) == pipeline.settings.top_k, "the closest passages come with the abstention"


def test_json_result_has_the_documented_shape(pipeline):
    d = pipeline.ask(ANSWERABLE[0][0], k=3).to_dict()
    assert set(d) == {
        "question",
        "standalone_question",
        "engine",
        "status",
        "confidence",
        "answer",
        "abstained",
        "checks",
        "sentences",
        "citations",
        "dropped",
        "notice",
        "generated",
        "retrieved",
        "timings_ms",
    }
    assert set(d["citations"][0]) == {"n", "passage_id", "doc_id", "title", "section", "quote", "spans", "supports", "text"}
    assert d["engine"] == "extractive" and len(d["sentences"]) == len(d["answer"].split(" [")) - 1
    assert d["status"] == "answered" and 0.5 < d["confidence"] <= 1 and d["checks"]["best_score"] >= pipeline.settings.abstain_threshold
    assert "not checked by the model" in d["notice"].lower()
    assert len(d["retrieved"]) == 3 and set(d["retrieved"][0]) == {"passage_id", "doc_id", "text", "score"}
    assert set(d["timings_ms"]) == {"rewrite", "retrieve", "answer", "total"}
    assert d["timings_ms"]["total"] >= d["timings_ms"]["retrieve"]


@pytest.mark.parametrize(("question", "message"), [("", "empty"), (" \n\t ", "empty"), ("x" * 1001, "limit is 1000")])
def test_bad_questions_raise_one_clear_error(pipeline, question, message):
    with pytest.raises(RagbotError, match=message):
        pipeline.ask(question)


def test_control_characters_are_removed(pipeline):
    answer = pipeline.ask("What share of South Korea's\x00 energy\u200b supplies\x1b passes through the Malacca Strait?")
    assert "\x00" not in answer.question and "\x1b" not in answer.question


def test_a_date_question_is_only_answered_by_a_dated_sentence(pipeline):
    retrieval = pipeline.retriever.run("When did ASEAN and Korea first establish relations?")
    texts = [pipeline.index.passages[s.passage_row].text[slice(*s.span)] for s in pipeline.engine("extractive").score_sentences(retrieval)]
    assert texts, "dated sentences exist among the hits"
    assert all(
        re.search(r"\b(19|20)\d\d(s)?\b|January|February|March|April|May|June|July|August|September|October|November|December", t)
        for t in texts
    )


def test_engines_are_created_by_name_and_validated(pipeline):
    with pytest.raises(ValueError, match="unknown answer engine"):
        create_engine("oracle", pipeline.settings, pipeline.index, pipeline.encoder)
    with pytest.raises(ValueError):
        ExtractiveEngine(pipeline.index, passages=0)
