"""Per-passage reading: the prompt's cached layout, the rerank order, and both with SmolLM2-135M on loopback (the plumbing)."""

from __future__ import annotations

import pytest

from ragbot.answer import Final, Hit, Verdict
from ragbot.chain import Pipeline
from ragbot.chunking import Passage
from ragbot.engines.chat_model import chat_model
from ragbot.engines.llm import NO_PASSAGE_STATES_IT
from ragbot.engines.passage_reader import READER_SYSTEM_PROMPT, PassageGate, PassageReader, Reading, reader_messages, rerank

SMALL = "smollm2-135m"
# SmolLM2 reads the second passage of this question's top 3 as likelier to answer than the first (a real reordering).
SHRIMP = "What animal image does Sarah Teo's 2013 RSIS brief use to describe South Korea's position?"
PLUMBING = {"engine": "llm", "llm_model": SMALL, "llm_max_tokens": 40, "judge_abstain_below": 0.0, "judge_answer_from": 0.0,
            "claim_threshold": 0.0, "rerank": "passage_p_yes", "read_passages": 3, "passage_answer_from": 0.0}  # fmt: skip


def hits_of(passages: list[Passage]) -> list[Hit]:
    return [Hit(p, 10.0 - r, 0.5, 1.0, r, ()) for r, p in enumerate(passages, 1)]


def test_the_question_comes_last_so_a_passage_opens_every_prompt_the_same_way(pipeline: Pipeline) -> None:
    passage = pipeline.index.passages[0]
    one, two = reader_messages(passage, "Who wrote it?"), reader_messages(passage, "When was it written?")
    assert one[0] == two[0] == ("system", READER_SYSTEM_PROMPT)
    head = one[1][1].split("Question:")[0]
    assert two[1][1].startswith(head) and passage.text.strip() in head
    assert one[1][1].endswith("Reply Yes or No.") and "Who wrote it?" in one[1][1].split(head)[1]


def test_rerank_orders_the_read_hits_by_p_yes_and_keeps_the_rest(pipeline: Pipeline) -> None:
    hits = hits_of(pipeline.index.passages[:4])
    readings = [Reading(h.passage.passage_id, p) for h, p in zip(hits, (0.2, 0.9, None), strict=False)]
    order = rerank(hits, readings)
    assert [h.passage for h in order] == [hits[i].passage for i in (1, 2, 0, 3)], "None reads as 0.5; the unread hit stays last"
    assert [h.rank for h in order] == [1, 2, 3, 4]
    blended = rerank(hits, readings, retrieval_weight=100.0)
    assert [h.passage for h in blended] == [h.passage for h in hits], "a heavy retrieval weight keeps retrieval's order"


def test_a_second_question_on_a_passage_reuses_its_cached_prefix(pipeline: Pipeline) -> None:
    settings = pipeline.settings.model_copy(update={"engine": "llm", "llm_model": SMALL})
    reader = PassageReader(chat_model(settings))
    passage = pipeline.index.passages[5]
    first = reader.run(passage, "Who wrote this brief?")
    second = reader.run(passage, "When was this brief published?")
    assert first.p_yes is not None and 0.0 <= first.p_yes <= 1.0
    assert first.prompt_tokens and second.prompt_tokens and second.cached_tokens is not None
    evaluated = second.prompt_tokens - second.cached_tokens
    assert second.cached_tokens > 3 * evaluated, "the system prompt and the passage came from the cache"
    assert evaluated < 60, f"only the question and the closing instruction are read again, not {evaluated} tokens"


def test_the_llm_engine_reranks_its_top_passages_by_what_the_model_reads(pipeline: Pipeline) -> None:
    llm = Pipeline(pipeline.settings.model_copy(update=PLUMBING), pipeline.index, pipeline.encoder)
    before = [h.passage.passage_id for h in llm.retriever.run(SHRIMP).hits]
    events = list(llm.stream(SHRIMP))
    final = events[-1]
    assert isinstance(final, Final)
    read = final.answer.checks["passage_p_yes"]
    assert list(read) == before[:3], "the top three passages were read, in retrieval order"
    after = [h.passage.passage_id for h in final.answer.retrieved]
    assert after[:3] == sorted(before[:3], key=lambda pid: -read[pid]), "the answer lists them by P(Yes)"
    assert after[:3] != before[:3], "and this question's order changes"
    assert after[3:] == before[3:] and [h.rank for h in final.answer.retrieved] == list(range(1, len(after) + 1))


def test_the_passage_gate_lets_an_answer_stand_only_when_one_passage_read_alone_states_it():
    answered = Verdict("answered", 0.9, 0.8)
    gate = PassageGate(0.46)
    assert gate.run(answered, [Reading("a", 0.1), Reading("b", 0.5)]) is answered, "one passage at the threshold is enough"
    turned = gate.run(answered, [Reading("a", 0.3), Reading("b", None)])
    assert turned == Verdict("unsure", 0.3, 0.8), "none reaches it: unsure, confidence at most the best reading; None is no Yes"
    assert gate.run(answered, []).status == "unsure", "nothing read states nothing"
    unsure = Verdict("unsure", 0.4, 0.45)
    assert gate.run(unsure, [Reading("a", 0.99)]) is unsure, "it never turns a refusal into an answer"
    assert PassageGate(0.0).run(answered, []) is answered, "0 turns it off"
    with pytest.raises(ValueError, match="between 0 and 1"):
        PassageGate(1.5)


def test_the_llm_engine_reads_the_top_passages_before_writing_and_turns_unsure_when_none_states_it(pipeline: Pipeline):
    strict = {**PLUMBING, "rerank": "none", "passage_answer_from": 1.0}  # SmolLM2 never reads P(Yes) = 1: every answer gated
    llm = Pipeline(pipeline.settings.model_copy(update=strict), pipeline.index, pipeline.encoder)
    events = list(llm.stream(SHRIMP))
    final = events[-1]
    assert isinstance(final, Final)
    verdicts = [e for e in events if isinstance(e, Verdict)]
    assert [v.status for v in verdicts] == ["unsure"], "the page hears the gated verdict, not the judge's"
    assert final.answer.status == "unsure" and final.answer.notice == NO_PASSAGE_STATES_IT and not final.answer.generated
    read = final.answer.checks["passage_p_yes"]
    assert list(read) == [h.passage.passage_id for h in final.answer.retrieved[:3]], "the top three read, the order kept"
    assert final.answer.confidence <= max(v or 0.0 for v in read.values())
    off = Pipeline(pipeline.settings.model_copy(update={**strict, "passage_answer_from": 0.0}), pipeline.index, pipeline.encoder)
    answer = next(e for e in off.stream(SHRIMP) if isinstance(e, Final)).answer
    assert "passage_p_yes" not in answer.checks and answer.generated, "off: nothing read, the answer written as before"


def test_the_gate_stops_reading_at_the_first_passage_that_states_it(pipeline: Pipeline):
    """A threshold every reading reaches (the smallest above 0): the first passage is read and no other; read_all reads three."""
    low = {**PLUMBING, "rerank": "none", "passage_answer_from": 0.000001}
    answer = next(e for e in Pipeline(pipeline.settings.model_copy(update=low), pipeline.index, pipeline.encoder).stream(SHRIMP)
                  if isinstance(e, Final)).answer  # fmt: skip
    read = answer.checks["passage_p_yes"]
    assert list(read) == [answer.retrieved[0].passage.passage_id] and read[answer.retrieved[0].passage.passage_id], read
    assert answer.status == "answered" and answer.generated
    every = Pipeline(pipeline.settings.model_copy(update={**low, "passage_read_all": True}), pipeline.index, pipeline.encoder)
    answer = next(e for e in every.stream(SHRIMP) if isinstance(e, Final)).answer
    assert list(answer.checks["passage_p_yes"]) == [h.passage.passage_id for h in answer.retrieved[:3]], "a recording reads all"
