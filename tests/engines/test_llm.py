"""The LLM engine with real models: SmolLM2-135M served by llama.cpp on loopback (fast, for the plumbing)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragbot.answer import ABSTAIN_TEXT, PENDING, Final, Preview, Retrieval, Token, Verdict
from ragbot.chain import Pipeline
from ragbot.citations import CitationVerifier, split_claims
from ragbot.condense import is_followup, rewrite_by_rule
from ragbot.engines.llm import Evidence, LLMEngine, rewrite_with_model
from ragbot.models.llm_file import resolve_llm_path
from ragbot.models.llm_server import LocalServer
from ragbot.settings import Settings

SMALL = "smollm2-135m"
MALACCA = "What share of South Korea's energy supplies passes through the Malacca Strait?"


# SmolLM2 is no judge: for the plumbing its P(Yes) decides nothing (every checked question is written, no sentence dropped).
PLUMBING = {"engine": "llm", "llm_model": SMALL, "llm_max_tokens": 60, "judge_abstain_below": 0.0, "judge_answer_from": 0.0,
            "claim_threshold": 0.0, "passage_answer_from": 0.0}  # fmt: skip


@pytest.fixture(scope="module")
def llm_pipeline(pipeline: Pipeline) -> Pipeline:
    return Pipeline(pipeline.settings.model_copy(update=PLUMBING), pipeline.index, pipeline.encoder)


@pytest.fixture(scope="module")
def loopback_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """llama.cpp's own OpenAI-compatible server with the small model, started by the test on 127.0.0.1."""
    server = LocalServer(resolve_llm_path(SMALL, tmp_path_factory.mktemp("models")), threads=2, n_ctx=2048)
    yield server
    server.close()


class RefusingModel:
    """Stands in for a remote LLM service; any call fails the test (the engine must not call it)."""

    def stream(self, _messages: object) -> Iterator[object]:
        raise AssertionError("the model was called")

    def invoke(self, _messages: object) -> object:
        raise AssertionError("the model was called")


def test_streaming_yields_the_quotes_then_the_check_then_text_then_a_verified_answer(llm_pipeline: Pipeline) -> None:
    events = list(llm_pipeline.stream(MALACCA))
    kinds = [e.name for e in events]
    assert isinstance(events[0], Preview) and events[0].answer.engine == "extractive", "the extractive quotes are shown at once"
    assert events[0].answer.status == PENDING, "as the closest passages, not yet as an answer"
    assert isinstance(events[1], Verdict) and events[1].status == "answered" and 0 <= events[1].confidence <= 1
    assert "token" in kinds and kinds.index("token") < len(kinds) - 1, "text streams before the end"
    assert isinstance(events[-1], Final) and kinds.count("answer") == 1
    final = events[-1].answer
    assert final.engine == "llm" and final.status == "answered" and final.citations, final.to_dict()
    assert final.timings_ms["judgement"] <= final.timings_ms["first_token"] < final.timings_ms["total"]
    assert final.checks["p_yes"] == events[1].p_yes and final.confidence == events[1].confidence


def test_the_small_model_answers_a_known_question_with_valid_citations(llm_pipeline: Pipeline) -> None:
    answer = llm_pipeline.ask(MALACCA)
    assert not answer.abstained, answer.dropped
    evidence = {e.passage.passage_id for e in llm_pipeline.engine().evidence(llm_pipeline.retriever.run(MALACCA))}
    assert answer.citations and {c.passage.passage_id for c in answer.citations} <= evidence
    for c in answer.citations:
        for s, e in c.spans:
            assert c.passage.text[s:e].strip() in c.quote
        assert all(0 <= i < len(answer.sentences) for i in c.supports)
    assert sorted(n for c in answer.citations for n in [c.n]) == list(range(1, len(answer.citations) + 1))
    d = answer.to_dict()
    assert d["engine"] == "llm" and d["citations"][0]["supports"] and d["citations"][0]["spans"]


def _malacca_evidence(pipeline: Pipeline, phrase: str) -> tuple[LLMEngine, Retrieval, list[Evidence], str]:
    """The engine, retrieval and numbered evidence for MALACCA, and the last evidence sentence holding ``phrase``."""
    engine = pipeline.engine()
    assert isinstance(engine, LLMEngine)
    retrieval = pipeline.retriever.run(MALACCA)
    evidence = engine.evidence(retrieval)
    return engine, retrieval, evidence, next(e for e in evidence if phrase in e.text()).text().split("…")[-1].strip()


def test_verification_drops_a_planted_claim_and_recites_a_bad_marker(llm_pipeline: Pipeline) -> None:
    engine, retrieval, evidence, true_sentence = _malacca_evidence(llm_pipeline, "Malacca")
    planted = "Korea's navy annexed the Malacca Strait in 1850 using a fleet of penguins [1]."
    text = f"{true_sentence} [9]. {planted}"
    answer = engine.verify(retrieval, text, evidence)
    assert not answer.abstained
    assert answer.dropped == [planted.replace(" [1]", "")]
    assert "penguins" not in answer.text and "[9]" not in answer.text
    assert answer.text.endswith("[1]") and "Malacca" in answer.citations[0].passage.text


def test_a_sentence_that_swaps_in_a_number_or_a_place_is_not_supported(llm_pipeline: Pipeline) -> None:
    engine, retrieval, evidence, true_sentence = _malacca_evidence(llm_pipeline, "90 per cent")
    assert "90 per cent" in true_sentence
    swapped = true_sentence.replace("90 per cent", "75 per cent")
    placed = true_sentence.rstrip(".") + ", according to officials in Jakarta."
    answer = engine.verify(retrieval, f"{true_sentence} [1] {swapped} [1] {placed} [1]", evidence)
    assert answer.sentences == [true_sentence] and len(answer.dropped) == 2, (answer.sentences, answer.dropped)


def test_an_answer_with_nothing_supported_abstains(llm_pipeline: Pipeline) -> None:
    retrieval = llm_pipeline.retriever.run(MALACCA)
    evidence = llm_pipeline.engine().evidence(retrieval)
    answer = llm_pipeline.engine().verify(retrieval, "Penguins run the Korean navy from Antarctica [1].", evidence)
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.citations == []
    assert llm_pipeline.engine().verify(retrieval, "The briefs don't say.", evidence).abstained


def test_below_the_abstention_threshold_the_model_is_not_called(pipeline: Pipeline) -> None:
    settings = pipeline.settings.model_copy(update={"engine": "llm"})
    engine = LLMEngine(pipeline.index, pipeline.encoder, settings, model=RefusingModel())
    answer = Pipeline(settings, pipeline.index, pipeline.encoder, {"llm": engine}).ask("What is the recipe for kimchi stew?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.engine == "llm"


def test_claims_and_their_markers_are_parsed() -> None:
    claims = split_claims("Korea joined in 1989 [1][2]. It grew fast [Passage 3]. Trade rose [4, 5].")
    assert claims == [("Korea joined in 1989.", [1, 2]), ("It grew fast.", [3]), ("Trade rose.", [4, 5])]
    with pytest.raises(ValueError):
        CitationVerifier(encoder=None, threshold=0)  # type: ignore[arg-type]


def test_the_openai_compatible_backend_against_a_loopback_server(pipeline: Pipeline, loopback_server: LocalServer) -> None:
    os.environ["RAGBOT_TEST_LLM_KEY"] = loopback_server.api_key
    settings = pipeline.settings.model_copy(
        update={
            **PLUMBING,
            "llm_base_url": loopback_server.base_url,
            "llm_model": "local",
            "llm_api_key_env": "RAGBOT_TEST_LLM_KEY",
            "llm_max_tokens": 60,
        }
    )
    remote = Pipeline(settings, pipeline.index, pipeline.encoder)
    events = list(remote.stream(MALACCA))
    assert any(isinstance(e, Token) for e in events), "the server streamed text"
    assert isinstance(events[-1], Final)
    final = events[-1].answer
    assert final.engine == "llm" and not final.notice


def test_a_wrong_api_key_or_a_down_server_falls_back_to_the_extractive_answer(pipeline: Pipeline, loopback_server: LocalServer) -> None:
    for url, key in ((loopback_server.base_url, "wrong-key"), ("http://127.0.0.1:9/v1", "x")):
        os.environ["RAGBOT_TEST_LLM_KEY"] = key
        settings = pipeline.settings.model_copy(
            update={"engine": "llm", "llm_base_url": url, "llm_model": "local", "llm_api_key_env": "RAGBOT_TEST_LLM_KEY"}
        )
        answer = Pipeline(settings, pipeline.index, pipeline.encoder).ask(MALACCA)
        assert not answer.abstained and answer.engine == "extractive" and "90" in answer.text
        assert answer.notice.startswith("The LLM is unavailable") and "\n" not in answer.notice


def test_a_missing_model_gets_one_line_and_the_cli_still_answers(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_LLM_MODEL": str(tmp_path / "missing.gguf")}
    done = subprocess.run(
        [sys.executable, "-m", "ragbot.cli", "ask", "--engine", "llm", MALACCA], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "90" in done.stdout and "Sources:" in done.stdout
    notes = [line for line in done.stderr.splitlines() if line.startswith("ragbot:")]
    assert len(notes) == 1 and "missing.gguf" in notes[0] and "Traceback" not in done.stderr


def test_follow_ups_are_rewritten_by_rule_without_an_llm(pipeline: Pipeline) -> None:
    assert is_followup("and what about Japan?") and is_followup("Why was it delayed?")
    assert not is_followup("What share of South Korea's energy supplies passes through the Malacca Strait?")
    first = "What share of South Korea's energy supplies passes through the Malacca Strait?"
    assert rewrite_by_rule("and what about Japan?", [(first, "90 per cent [1]")]) == f"What about Japan? (following: {first})"
    answer = pipeline.ask("and which sea routes are those?", history=[(first, "About 90 per cent [1].")])
    assert answer.standalone and first in answer.standalone
    assert answer.to_dict()["standalone_question"] == answer.standalone
    assert any("Malacca" in c.passage.text for c in answer.citations)


def test_follow_ups_are_rewritten_by_the_llm_when_there_is_one(pipeline: Pipeline) -> None:
    """Qwen, the bundled model: SmolLM2 says nothing usable here (None), which would test only the rule again."""
    qwen = Pipeline(pipeline.settings.model_copy(update={**PLUMBING, "llm_model": "qwen2.5-1.5b"}), pipeline.index, pipeline.encoder)
    history = [("What did Korea announce at the 2019 Busan summit?", "It announced new funding [1].")]
    rewritten = rewrite_with_model(qwen.engine().model, "and what about Japan?", history)
    assert rewritten is not None and rewritten.endswith("?") and rewritten.count("?") == 1, rewritten
    assert "Japan" in rewritten and "Busan" in rewritten and "following:" not in rewritten, "standalone, in the model's words"
    prepared = qwen.prepare(qwen.question("and what about Japan?", history=history))
    assert prepared.standalone == rewritten, "the pipeline retrieves for the model's rewrite, not the rule's"
