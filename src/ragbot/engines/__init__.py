"""Answer engines: each turns a Retrieval into a cited Answer through one call, ``run``.

``stream`` yields the same Answer in steps (ragbot/answer.py: a Preview of the quotes, the judge's
Verdict, Tokens of written text, and the Final answer last); ``rewrite`` makes a follow-up
standalone when the engine has a model to do it with (None: the rule in condense.py applies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ragbot.answer import Answer, Event, Retrieval
from ragbot.index.reader import Index
from ragbot.models.embedder import Encoder
from ragbot.settings import Settings

ENGINES = ("extractive", "llm")


class AnswerEngine(Protocol):
    name: str

    def run(self, retrieval: Retrieval) -> Answer: ...

    def stream(self, retrieval: Retrieval) -> Iterator[Event]: ...

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str | None: ...


def create_engine(name: str, settings: Settings, index: Index, encoder: Encoder) -> AnswerEngine:
    """The engine called ``name``, configured by the settings; unknown names raise ValueError."""
    if name == "extractive":
        from ragbot.engines.extractive import ExtractiveEngine

        return ExtractiveEngine(
            index,
            settings.answer_passages,
            settings.max_answer_sentences,
            settings.abstain_threshold,
            calibration=settings.extractive_calibration,
        )
    if name == "llm":
        from ragbot.engines.llm import LLMEngine

        return LLMEngine(index, encoder, settings)
    raise ValueError(f"unknown answer engine {name!r}; choose from: {', '.join(ENGINES)}")
