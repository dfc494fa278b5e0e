"""The answerability judge: P(Yes) read from token log-probabilities, the gate's three states, and each decision path
with the bundled Qwen2.5-1.5B model (the judge users get) at the shipped thresholds."""

from __future__ import annotations

import math

import pytest

from ragbot.answer import ABSTAIN_TEXT, PENDING, Answer, Final, Preview, Verdict
from ragbot.chain import Pipeline
from ragbot.engines.judge import AnswerabilityGate, Judgement, p_yes
from ragbot.engines.llm import SYSTEM_PROMPT, LLMEngine

MALACCA = "What share of South Korea's energy supplies passes through the Malacca Strait?"


def top(**probabilities: float) -> list[dict[str, object]]:
    return [{"token": token.replace("_", " "), "logprob": math.log(p)} for token, p in probabilities.items()]


def test_p_yes_is_the_yes_share_of_yes_and_no_tokens() -> None:
    assert p_yes(top(Yes=0.6, No=0.2, The=0.1)) == pytest.approx(0.75)
    assert p_yes(top(Yes=0.3, _yes=0.1, NO=0.2, no=0.2)) == pytest.approx(0.5), "case and leading spaces fold"
    assert p_yes(top(The=0.5, Passage=0.3)) is None, "neither word among the likeliest tokens"
    assert p_yes([]) is None


def test_the_gate_has_three_states_and_checks_its_thresholds() -> None:
    gate = AnswerabilityGate(0.2, 0.5)
    assert [gate.run(Judgement(p)).status for p in (0.1, 0.2, 0.49, 0.5, 0.9)] == ["abstained", "unsure", "unsure", "answered", "answered"]
    assert gate.run(Judgement(None)).status == "unsure", "a model that cannot say is not an answer"
    assert gate.run(Judgement(0.7)).confidence == pytest.approx(0.7), "without calibration, confidence is P(Yes)"
    calibrated = AnswerabilityGate(0.2, 0.5, (2.0, -1.0))
    assert calibrated.confidence(0.5) == pytest.approx(1 / (1 + math.e))
    assert calibrated.confidence(0.9) > calibrated.confidence(0.6) > calibrated.confidence(0.3), "calibration keeps the order"
    for low, high in ((0.6, 0.5), (-0.1, 0.5), (0.2, 1.5)):
        with pytest.raises(ValueError):
            AnswerabilityGate(low, high)


@pytest.fixture(scope="module")
def qwen(pipeline: Pipeline) -> Pipeline:
    """The LLM engine as `make run` serves it: the bundled Qwen2.5-1.5B and the shipped (calibrated) thresholds."""
    return Pipeline(pipeline.settings.model_copy(update={"engine": "llm", "llm_max_tokens": 80}), pipeline.index, pipeline.encoder)


def final_and_verdict(pipeline: Pipeline, question: str) -> tuple[Answer, Verdict | None]:
    events = list(pipeline.stream(question))
    verdicts = [e for e in events if isinstance(e, Verdict)]
    first, last = events[0], events[-1]
    assert (isinstance(first, Preview) and first.answer.status == PENDING) or (isinstance(first, Final) and first.answer.abstained)
    assert isinstance(last, Final)
    return last.answer, verdicts[0] if verdicts else None


def test_an_off_topic_question_is_not_answered(qwen: Pipeline) -> None:
    """Retrieval finds something to quote, so the model is asked, and its P(Yes) abstains (about 0.2 here)."""
    answer, verdict = final_and_verdict(qwen, "What is the capital of France?")
    assert verdict is not None and verdict.status == "abstained", verdict
    assert verdict.p_yes is not None and verdict.p_yes < qwen.settings.judge_abstain_below
    assert answer.status == "abstained" and answer.text == ABSTAIN_TEXT and "Paris" not in answer.text
    assert answer.confidence == verdict.confidence


def test_a_near_miss_is_not_answered(qwen: Pipeline) -> None:
    """The briefs discuss ASEAN-Korea trade but give no 2023 total: it retrieves like an answerable question."""
    answer, verdict = final_and_verdict(qwen, "What was the total value of ASEAN-Korea trade in 2023?")
    assert answer.status in ("abstained", "unsure"), answer.text  # both are "not answered": which one is the thresholds' call
    assert verdict is not None, "the retrieval score alone let it through: the model's check decided"
    assert verdict.p_yes is not None and verdict.p_yes < qwen.settings.judge_answer_from, "the judge itself, not a later check"
    assert answer.status == verdict.status, "the answer is the judge's verdict"


def test_an_answerable_question_is_answered_with_a_confident_check(qwen: Pipeline) -> None:
    answer, verdict = final_and_verdict(qwen, MALACCA)
    assert verdict is not None and verdict.status == "answered"
    assert answer.status == "answered" and "90" in answer.text and answer.citations, answer.to_dict()
    assert answer.confidence == verdict.confidence and answer.checks["claims"], "each sentence was checked"


def test_a_written_sentence_with_a_swapped_fact_is_dropped(qwen: Pipeline) -> None:
    engine = qwen.engine()
    assert isinstance(engine, LLMEngine)
    retrieval = qwen.retriever.run(MALACCA)
    evidence = engine.evidence(retrieval)
    passage = next(e.text() for e in evidence if "90 per cent" in e.text())
    true = next(s for s in passage.split("…") if "90 per cent" in s).strip()
    swapped = true.replace("energy supplies", "rice imports")  # common words: the word-and-meaning verifier lets it through
    assert engine.verify(retrieval, f"{true} [1] {swapped} [1]", evidence).sentences == [true, swapped]
    assert engine.judge.claim(SYSTEM_PROMPT, true, passage).p_yes >= qwen.settings.claim_threshold
    assert engine.judge.claim(SYSTEM_PROMPT, swapped, passage).p_yes < qwen.settings.claim_threshold
    answer = engine.verify(retrieval, f"{true} [1] {swapped} [1]", evidence, check_claims=True)
    assert answer.sentences == [true] and answer.dropped == [swapped], (answer.sentences, answer.dropped, answer.checks)
