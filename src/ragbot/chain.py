"""The pipeline: question -> retrieval -> answer engine -> cited Answer, as a LangChain (LCEL) chain."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from ragbot.citations import Answer
from ragbot.corpus import corpus_state
from ragbot.engines import AnswerEngine, create_engine
from ragbot.engines.judge import Verdict
from ragbot.errors import RagbotError
from ragbot.index import Index, build_index, diff_corpus, load_index, log_stderr, read_manifest
from ragbot.library import check_origin
from ragbot.models import Encoder, embedder_for, query_encoder_for
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


# A short message that leans on what came before: "and Japan?", "what about 2019?", "why was it delayed?"
# A page's or a question's refresh waits this long for another writer of the index folder (a build on another
# replica, or its Milvus sync) instead of failing at once; the CLI's `ragbot index` says so at once instead.
BUILD_WAIT = 120.0

_FOLLOWUP = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what of|same for|why|how come|how so)\b"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|then)\b",
    re.I,
)


def is_followup(question: str) -> bool:
    """Whether a question probably needs the conversation to be understood."""
    return len(question.split()) <= 12 and bool(_FOLLOWUP.search(question))


def rewrite_by_rule(question: str, history: list[tuple[str, str]]) -> str:
    """The follow-up joined to the last question, so retrieval sees both: "What about Japan? (following: ...)"."""
    bare = re.sub(r"^\s*(and|but|also|so|then)\b[\s,]*", "", question, flags=re.I).rstrip(" ?")
    return f"{bare[:1].upper()}{bare[1:]}? (following: {history[-1][0]})"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class Pipeline:
    """ragbot as a library: ``Pipeline.load(settings).ask("...")`` returns a cited Answer."""

    def __init__(self, settings: Settings, index: Index, encoder: Encoder, engine: AnswerEngine | None = None) -> None:
        self.settings, self.index, self.encoder = settings, index, encoder
        self.retriever = Retriever(index, encoder, settings)
        self.engine = engine or create_engine(settings.engine, settings, index, encoder)
        self.chain = self._build_chain()

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

    def _build_chain(self) -> Runnable[dict[str, Any], str | Verdict | Answer]:
        """condense (follow-up -> standalone question) | retrieve | answer (streamed: text pieces, then Answers)."""

        def condense(inputs: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            history = inputs.get("history") or []
            standalone = None
            if history and self.settings.rewrite_followups and is_followup(inputs["question"]):
                model = getattr(self.engine, "model", None) if self.engine.name == "llm" else None
                from ragbot.engines.llm import rewrite_with_model

                standalone = (rewrite_with_model(model, inputs["question"], history) if model is not None else None) or rewrite_by_rule(
                    inputs["question"], history
                )
            return {**inputs, "standalone": standalone, "rewrite_ms": _ms(start)}

        def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            k = max(inputs.get("k") or self.settings.top_k, self.settings.answer_passages)
            retrieval = self.retriever.run(inputs["standalone"] or inputs["question"], k=k, docs=inputs.get("docs"))
            return {**inputs, "retrieval": retrieval, "retrieve_ms": _ms(start)}

        def answer(stream: Iterator[dict[str, Any]]) -> Iterator[str | Verdict | Answer]:
            for inputs in stream:
                start = time.perf_counter()
                for event in self.engine.stream(inputs["retrieval"]):
                    if isinstance(event, Answer):
                        event.question, event.standalone = inputs["question"], inputs["standalone"]
                        event.retrieved = event.retrieved[: inputs.get("k") or self.settings.top_k]
                        timings = {"rewrite": inputs["rewrite_ms"], "retrieve": inputs["retrieve_ms"], "answer": _ms(start)}
                        event.timings_ms = {**event.timings_ms, **timings}
                    yield event

        steps = RunnableLambda(condense, name="condense") | RunnableLambda(retrieve, name="retrieve")
        return steps | RunnableGenerator(answer, name="answer")

    def stream(
        self, question: str, k: int | None = None, docs: set[str] | None = None, history: list[tuple[str, str]] | None = None
    ) -> Iterator[str | Verdict | Answer]:
        """The answer in steps: text pieces as they are written, and Answers (a preview, then the final one, last)."""
        start = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        check_k(k)
        for event in self.chain.stream({"question": text, "k": k, "docs": docs, "history": history or []}):
            if isinstance(event, Answer):
                event.timings_ms["total"] = _ms(start)
            yield event

    def ask(
        self, question: str, k: int | None = None, docs: set[str] | None = None, history: list[tuple[str, str]] | None = None
    ) -> Answer:
        """The final, cited Answer; ``history`` holds earlier (question, answer) turns for follow-ups."""
        final: Answer | None = None
        for event in self.stream(question, k, docs, history):
            if isinstance(event, Answer):
                final = event
        if final is None:
            raise RagbotError("the answer engine returned no answer")
        return final
