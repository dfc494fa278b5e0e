"""The pipeline: question -> retrieval -> answer engine -> cited Answer, as a LangChain (LCEL) chain."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from ragbot.citations import Answer
from ragbot.corpus import corpus_state
from ragbot.engines import AnswerEngine, create_engine
from ragbot.errors import RagbotError
from ragbot.index import Index, build_index, diff_corpus, load_index, log_stderr, read_manifest
from ragbot.models import Encoder, load_embedder, load_query_encoder
from ragbot.retrieval import Retriever
from ragbot.settings import Settings


def clean_question(question: object, max_chars: int) -> str:
    """The question with control characters removed and whitespace collapsed; rejects empty or over-long ones."""
    if not isinstance(question, str):
        raise RagbotError("the question must be text")
    text = "".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in question)
    text = " ".join(text.split())
    if not text:
        raise RagbotError("the question is empty; ask something about the briefs")
    if len(text) > max_chars:
        raise RagbotError(f"the question is {len(text)} characters long; the limit is {max_chars}")
    return text


def check_k(k: int | None, name: str = "k") -> None:
    """Passages per answer list: 1 to 100."""
    if k is not None and not 1 <= k <= 100:
        raise RagbotError(f"{name} must be between 1 and 100, got {k}")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class Pipeline:
    """ragbot as a library: ``Pipeline.load(settings).ask("...")`` returns a cited Answer."""

    def __init__(self, settings: Settings, index: Index, encoder: Encoder, engine: AnswerEngine | None = None) -> None:
        self.settings, self.index, self.encoder = settings, index, encoder
        self.retriever = Retriever(index, encoder, settings)
        self.engine = engine or create_engine(
            settings.engine,
            index=index,
            passages=settings.answer_passages,
            max_sentences=settings.max_answer_sentences,
            threshold=settings.abstain_threshold,
        )
        self.chain = self._build_chain()

    @classmethod
    def load(cls, settings: Settings, refresh: bool = True, log: Callable[[str], None] | None = None) -> Pipeline:
        """Load the index (refreshing it first if the corpus or settings changed) and the embedder."""
        log = log or log_stderr
        manifest = read_manifest(settings.index_dir)
        if manifest is None:
            raise RagbotError(f"no index in {settings.index_dir}/; build it with `ragbot index`")
        encoder = load_query_encoder(settings.embed_model, settings.threads)
        if refresh and settings.corpus_dir.is_dir():
            changes = diff_corpus(manifest, corpus_state(settings.corpus_dir), settings)
            if changes.stale:
                log(f"corpus changed since the index was built ({changes.summary()}); updating it")
                return cls.build(settings, encoder, log)
        return cls(settings, load_index(settings.index_dir), encoder)

    @classmethod
    def build(cls, settings: Settings, encoder: Encoder | None = None, log: Callable[[str], None] | None = None) -> Pipeline:
        """Bring the index up to date with the corpus folder (only changed files re-embedded) and serve it."""
        embedder = load_embedder(settings.embed_model, settings.threads, settings.embed_batch_size)
        index, _ = build_index(settings, embedder, progress=False, log=log or log_stderr)
        return cls(settings, index, encoder or load_query_encoder(settings.embed_model, settings.threads))

    def _build_chain(self) -> Runnable[dict[str, Any], Answer]:
        def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            retrieval = self.retriever.run(
                inputs["question"], k=max(inputs.get("k") or self.settings.top_k, self.settings.answer_passages), docs=inputs.get("docs")
            )
            return {**inputs, "retrieval": retrieval, "retrieve_ms": _ms(start)}

        def answer(inputs: dict[str, Any]) -> Answer:
            start = time.perf_counter()
            result = self.engine.run(inputs["retrieval"])
            result.retrieved = result.retrieved[: inputs.get("k") or self.settings.top_k]
            result.timings_ms = {"retrieve": inputs["retrieve_ms"], "answer": _ms(start)}
            return result

        return RunnableLambda(retrieve, name="retrieve") | RunnableLambda(answer, name="answer")

    def ask(self, question: str, k: int | None = None, docs: set[str] | None = None) -> Answer:
        start = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        check_k(k)
        result: Answer = self.chain.invoke({"question": text, "k": k, "docs": docs})
        result.timings_ms["total"] = _ms(start)
        return result
