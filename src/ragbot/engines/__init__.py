"""Answer engines: each turns a Retrieval into a cited Answer through one call, ``run``."""

from __future__ import annotations

from typing import Protocol

from ragbot.citations import Answer
from ragbot.retrieval import Retrieval


class AnswerEngine(Protocol):
    name: str

    def run(self, retrieval: Retrieval) -> Answer: ...


def create_engine(name: str, **kwargs: object) -> AnswerEngine:
    """The engine called ``name``; unknown names raise ValueError."""
    if name == "extractive":
        from ragbot.engines.extractive import ExtractiveEngine

        return ExtractiveEngine(**kwargs)  # type: ignore[arg-type]
    raise ValueError(f"unknown answer engine {name!r}; choose from: extractive")
