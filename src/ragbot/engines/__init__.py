"""Answer engines: each turns a Retrieval into a cited Answer through one call, ``run``.

``stream`` yields the same Answer in steps: text pieces (``str``) as they are written, the
answerability judge's Verdict when the LLM engine has one, and Answers (a ``pending`` preview,
then the final one, which comes last).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ragbot.citations import Answer
from ragbot.engines.judge import Verdict
from ragbot.index import Index
from ragbot.models import Encoder
from ragbot.retrieval import Retrieval
from ragbot.settings import Settings

ENGINES = ("extractive", "llm")


class AnswerEngine(Protocol):
    name: str

    def run(self, retrieval: Retrieval) -> Answer: ...

    def stream(self, retrieval: Retrieval) -> Iterator[str | Verdict | Answer]: ...


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
