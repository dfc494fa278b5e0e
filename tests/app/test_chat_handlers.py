"""The Chat tab's handlers called alone, on the real index and the small real LLM: one retrieval a question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from ragbot.app.chat_tab import ChatHandlers, PendingTurn
from ragbot.app.live import LivePipeline
from ragbot.chain import Pipeline
from ragbot.userdata.sqlite import SqliteStore

from ..engines.test_llm import MALACCA, PLUMBING


@pytest.fixture
def counted(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> tuple[Pipeline, list[str]]:
    """A pipeline on the small model whose real retrieve records each call."""
    llm = Pipeline(pipeline.settings.model_copy(update=PLUMBING), pipeline.index, pipeline.encoder)
    calls: list[str] = []
    retrieve: Callable[..., Any] = llm.retrieve

    def counting(text: str, question: Any) -> Any:
        calls.append(text)
        return retrieve(text, question)

    monkeypatch.setattr(llm, "retrieve", counting)
    return llm, calls


@pytest.fixture
def handlers(counted: tuple[Pipeline, list[str]], tmp_path: Path) -> ChatHandlers:
    return ChatHandlers(LivePipeline(counted[0]), SqliteStore(tmp_path / "ragbot.sqlite3"))


def briefs(pipeline: Pipeline) -> list[str]:
    return sorted(pipeline.index.documents)


def run_turn(handlers: ChatHandlers, question: str, turns: list[tuple[str, str]]) -> tuple[Any, ...]:
    """The page's two events for one LLM question: Ask (the quotes), then Write (check and written answer)."""
    pipeline = handlers.live.pipeline
    asked = handlers.respond(question, [], turns, 5, briefs(pipeline), "llm", None)
    pending = asked[-1]
    assert isinstance(pending, PendingTurn), asked
    return list(handlers.write(pending, turns, 5, briefs(pipeline)))[-1]


def test_an_llm_question_on_the_page_is_retrieved_once(handlers: ChatHandlers, counted: tuple[Pipeline, list[str]]):
    final = run_turn(handlers, MALACCA, [])
    assert counted[1] == [MALACCA]
    chat, last = final[0], final[2]
    assert chat[-1]["role"] == "assistant" and last["question"] == MALACCA


def test_a_follow_up_is_condensed_and_retrieved_once_by_the_write_event(handlers: ChatHandlers, counted: tuple[Pipeline, list[str]]):
    turns = [(MALACCA, "About 90% of its energy supplies [1].")]
    run_turn(handlers, "And what about that strait's share of its trade?", turns)
    assert len(counted[1]) == 1  # the model's standalone question, not the rule's and then the model's


def test_no_brief_chosen_is_said_in_the_chat_and_retrieves_nothing(handlers: ChatHandlers, counted: tuple[Pipeline, list[str]]):
    chat, *_rest, pending = handlers.respond(MALACCA, [], [], 5, [], "llm", None)
    assert "Choose at least one brief" in chat[-1]["content"] and pending is None and counted[1] == []


def test_a_second_question_while_the_first_is_written_is_refused(handlers: ChatHandlers, counted: tuple[Pipeline, list[str]]):
    pending = handlers.respond(MALACCA, [], [], 5, briefs(counted[0]), "llm", None)[-1]
    with pytest.raises(gr.Error, match="still on its way"):
        handlers.respond("What is the CSP?", [], [], 5, briefs(counted[0]), "llm", pending)


def test_feedback_is_saved_with_the_answer_it_refers_to(handlers: ChatHandlers):
    assert handlers.helpful("", None) == ("Ask a question first.", "")
    asked = handlers.respond(MALACCA, [], [], 5, briefs(handlers.live.pipeline), "extractive", None)
    message, box = handlers.not_helpful("the figure is old", asked[3])
    assert message.startswith("Thank you") and box == ""
    (saved,) = handlers.store.feedback()
    assert saved.rating == -1 and saved.comment == "the figure is old" and saved.question == MALACCA
