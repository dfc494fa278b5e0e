"""The judge as users get it: the bundled Qwen2.5-1.5B at the shipped thresholds (defaults and ragbot.toml), each of its
states pinned on two briefs written for this test (tests/data/judge_library: a ferry fleet and water meters, invented)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragbot.answer import ABSTAIN_TEXT, PENDING, UNSURE_TEXT, Answer, Final, Preview, Verdict
from ragbot.chain import Pipeline
from ragbot.index.writer import build_index
from ragbot.models.embedder import Embedder, query_encoder_for
from ragbot.settings import Settings

from ..conftest import ROOT

LIBRARY = Path(__file__).resolve().parents[1] / "data" / "judge_library"
FERRIES = "2026-04_kestrel-island-ferries.md"


@pytest.fixture(scope="module")
def judged(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The two briefs indexed, answered by the LLM engine with the bundled model and the thresholds ragbot ships."""
    root = tmp_path_factory.mktemp("judge-library")
    shutil.copytree(LIBRARY, root / "corpus")
    shipped = Settings.load(config_file=ROOT / "ragbot.toml", env={})
    here = {"corpus_dir": root / "corpus", "index_dir": root / "index"}
    settings = shipped.model_copy(update={**here, "engine": "llm", "llm_max_tokens": 60})
    assert settings.llm_model == "qwen2.5-1.5b" and (settings.judge_abstain_below, settings.judge_answer_from) == (0.41, 0.5)
    index, _ = build_index(settings, embedder, progress=False, log=lambda _m: None)
    return Pipeline(settings, index, query_encoder_for(settings))


def run(pipeline: Pipeline, question: str) -> tuple[list[object], Answer, Verdict | None]:
    """The engine's events for a question, its final answer, and the judge's verdict (None when the model was not asked)."""
    events = list(pipeline.stream(question))
    assert isinstance(events[-1], Final)
    verdicts = [e for e in events if isinstance(e, Verdict)]
    return events, events[-1].answer, verdicts[0] if verdicts else None


def test_a_stated_figure_is_answered_and_written_with_its_citation(judged: Pipeline) -> None:
    events, answer, verdict = run(judged, "How much will the two electric ferries cost?")
    assert isinstance(events[0], Preview) and events[0].answer.status == PENDING
    assert verdict is not None and verdict.status == "answered" and verdict.p_yes >= judged.settings.judge_answer_from, verdict
    assert answer.status == "answered" and answer.engine == "llm" and "31 million euros" in answer.text, answer.to_dict()
    assert answer.citations and {c.passage.doc_id for c in answer.citations} == {FERRIES} and answer.checks["claims"]


def test_a_fact_given_only_as_a_rough_share_leaves_the_judge_unsure(judged: Pipeline) -> None:
    """The brief says leaks lose "about a fifth" of the water: the model's P(Yes) falls between the two thresholds."""
    _, answer, verdict = run(judged, "How much water do leaks lose in the Brannock Valley?")
    assert verdict is not None and verdict.status == "unsure", verdict
    assert judged.settings.judge_abstain_below <= verdict.p_yes < judged.settings.judge_answer_from
    assert answer.status == "unsure" and answer.text == UNSURE_TEXT and not answer.generated, "nothing is written"
    assert any("about a fifth" in c.passage.text for c in answer.citations), "the closest evidence is shown, as not an answer"


def test_a_figure_the_brief_does_not_give_is_abstained_by_the_judge(judged: Pipeline) -> None:
    """The brief names the battery store but gives no size: retrieval finds the passage, the model says it does not answer."""
    events, answer, verdict = run(judged, "How large is the battery store at Hollin Head?")
    assert isinstance(events[0], Preview), "close enough for the retrieval score: the model decides"
    assert verdict is not None and verdict.status == "abstained" and verdict.p_yes < judged.settings.judge_abstain_below, verdict
    assert answer.status == "abstained" and answer.text == ABSTAIN_TEXT and not answer.citations


def test_a_question_nothing_retrieved_comes_close_to_is_abstained_without_the_model(judged: Pipeline) -> None:
    events, answer, verdict = run(judged, "How much electricity does the Hollin Head wind farm produce?")
    assert len(events) == 1 and verdict is None, "the retrieval score abstained: no model call"
    assert answer.status == "abstained" and answer.text == ABSTAIN_TEXT
