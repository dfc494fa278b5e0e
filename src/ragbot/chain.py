"""The pipeline: a Question -> condense (follow-ups) -> retrieve -> an answer engine -> events ending in a cited Answer.

``Pipeline.stream`` is the one path every shell takes (the CLI, the page, the HTTP API, ``ragbot
eval``): ``prepare`` makes a follow-up standalone and retrieves for it, then ``answer`` runs the
chosen engine on that retrieval. The page calls the two halves itself, so an LLM turn reuses the
retrieval its instant quotes came from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ragbot.answer import Answer, Event, Final, Preview, Retrieval, Turn
from ragbot.condense import is_followup, rewrite_by_rule
from ragbot.console import log_stderr
from ragbot.corpus.folder import corpus_state
from ragbot.engines import AnswerEngine, create_engine
from ragbot.errors import RagbotError
from ragbot.index.changes import diff_corpus
from ragbot.index.reader import Index, load_index, read_manifest
from ragbot.index.writer import build_index
from ragbot.library import check_origin
from ragbot.models.embedder import Encoder, embedder_for, query_encoder_for
from ragbot.question import Question
from ragbot.retrieval import Retriever
from ragbot.settings import Settings

# A page's or a question's refresh waits this long for another writer of the index folder (a build on another
# replica, or its Milvus sync) instead of failing at once; the CLI's `ragbot index` says so at once instead.
BUILD_WAIT = 120.0


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


@dataclass(frozen=True)
class Prepared:
    """A question ready for an engine: a follow-up's standalone form, what retrieval found, and what that took."""

    question: Question
    standalone: str | None  # the question rewritten from the conversation, when it was a follow-up
    retrieval: Retrieval
    timings_ms: dict[str, float]  # "rewrite" and "retrieve"


class Pipeline:
    """ragbot as a library: ``Pipeline.load(settings).ask("...")`` returns a cited Answer."""

    def __init__(self, settings: Settings, index: Index, encoder: Encoder, engines: dict[str, AnswerEngine] | None = None) -> None:
        self.settings, self.index, self.encoder = settings, index, encoder
        self.retriever = Retriever(index, encoder, settings)
        self._engines: dict[str, AnswerEngine] = dict(engines or {})
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, refresh: bool = True, log: Callable[[str], None] | None = None) -> Pipeline:
        """Load the index (refreshing it first if the corpus or settings changed) and the embedder."""
        log = log or log_stderr
        manifest = read_manifest(settings.index_dir)
        if manifest is None:
            raise RagbotError(f"no index in {settings.index_dir}/; build it with `ragbot index`")
        encoder = query_encoder_for(settings)
        if refresh and settings.corpus_dir.is_dir():
            state = corpus_state(settings.corpus_dir)
            check_origin(manifest, settings, state, rebuild=False)  # never rebuilt from another folder (ragbot/library.py)
            changes = diff_corpus(manifest, state, settings)
            if changes.stale:
                log(f"corpus changed since the index was built ({changes.summary()}); updating it")
                return cls.build(settings, encoder, log)
        return cls(settings, load_index(settings.index_dir), encoder)

    @classmethod
    def build(cls, settings: Settings, encoder: Encoder | None = None, log: Callable[[str], None] | None = None) -> Pipeline:
        """Bring the index up to date with the corpus folder (only changed files re-embedded) and serve it."""
        embedder = embedder_for(settings)
        index, _ = build_index(settings, embedder, progress=False, log=log or log_stderr, wait=BUILD_WAIT)
        return cls(settings, index, encoder or query_encoder_for(settings))

    def engine(self, name: str | None = None) -> AnswerEngine:
        """The answer engine called ``name`` (default: the engine setting), made on first use and kept."""
        name = name or self.settings.engine
        with self._lock:
            if name not in self._engines:
                self._engines[name] = create_engine(name, self.settings, self.index, self.encoder)
            return self._engines[name]

    def question(
        self, text: object, k: int | None = None, docs: set[str] | None = None, history: list[tuple[str, str]] | None = None
    ) -> Question:
        """A Question checked against this pipeline's limits (one line of RagbotError when it is bad)."""
        return Question.parse(text, self.settings.max_question_chars, k, docs, history)

    def needs_rewrite(self, question: Question) -> bool:
        """Whether the question is a follow-up to make standalone before retrieval."""
        return bool(question.history) and self.settings.rewrite_followups and is_followup(question.text)

    def condense(self, question: Question, engine: AnswerEngine) -> str | None:
        """A follow-up made standalone (by the engine's model, else by rule); None for a question that stands alone."""
        if not self.needs_rewrite(question):
            return None
        history = list(question.history)
        return engine.rewrite(question.text, history) or rewrite_by_rule(question.text, history)

    def retrieve(self, text: str, question: Question) -> Retrieval:
        """Ranked passages for ``text``: enough for the list the question asks for and for the answer to cite."""
        k = max(question.k or self.settings.top_k, self.settings.answer_passages)
        return self.retriever.run(text, k=k, docs=None if question.docs is None else set(question.docs))

    def prepare(self, question: Question, engine: str | None = None) -> Prepared:
        """Condense, then retrieve: everything before the engine."""
        start = time.perf_counter()
        standalone = self.condense(question, self.engine(engine))
        rewrite_ms, start = _ms(start), time.perf_counter()
        retrieval = self.retrieve(standalone or question.text, question)
        return Prepared(question, standalone, retrieval, {"rewrite": rewrite_ms, "retrieve": _ms(start)})

    def answer(self, prepared: Prepared, engine: str | None = None) -> Iterator[Event]:
        """The engine's events for a prepared question; each Answer carries the question, its ranked list and timings."""
        start = time.perf_counter()
        k = prepared.question.k or self.settings.top_k
        for event in self.engine(engine).stream(prepared.retrieval):
            match event:
                case Preview(answer) | Final(answer):
                    answer.question, answer.standalone = prepared.question.text, prepared.standalone
                    answer.retrieved = answer.retrieved[:k]
                    answer.timings_ms = {**answer.timings_ms, **prepared.timings_ms, "answer": _ms(start)}
            yield event

    def stream(
        self,
        question: Question | str,
        engine: str | None = None,
        k: int | None = None,
        docs: set[str] | None = None,
        history: list[tuple[str, str]] | None = None,
    ) -> Iterator[Event]:
        """The answer in steps (a Preview, the Verdict, Tokens, then the Final answer); a text question is checked first."""
        start = time.perf_counter()
        if isinstance(question, str):
            question = self.question(question, k, docs, history)
        elif k is not None or docs is not None or history is not None:
            raise ValueError("a Question carries its own k, docs and history")
        for event in self.answer(self.prepare(question, engine), engine):
            match event:
                case Preview(answer) | Final(answer):
                    answer.timings_ms["total"] = _ms(start)
            yield event

    def ask(
        self,
        question: Question | str,
        engine: str | None = None,
        k: int | None = None,
        docs: set[str] | None = None,
        history: list[tuple[str, str]] | None = None,
    ) -> Answer:
        """The final, cited Answer; ``history`` holds earlier (question, answer) turns for follow-ups."""
        return Turn.of(self.stream(question, engine, k, docs, history)).answer
