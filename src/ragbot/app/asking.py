"""What both HTTP APIs do to answer: check the question, wait for a slot in the engine's queue group, and stream events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ragbot.answer import Final
from ragbot.app import metrics
from ragbot.app.api_errors import ApiError
from ragbot.app.concurrency import ASK_GROUP, LLM_GROUP, Lanes, Slot
from ragbot.app.live import LivePipeline
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.question import Question

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def scope(pipeline: Pipeline, docs: list[str] | None) -> set[str] | None:
    """The briefs to search: None for all; refuses an empty list or an unknown brief."""
    if docs is None:
        return None
    if not docs:
        raise ApiError(400, "docs is empty: leave it out to search every brief, or name at least one")
    unknown = sorted(set(docs) - set(pipeline.index.documents))
    if unknown:
        raise ApiError(400, f"no such brief: {', '.join(unknown[:5])} (GET /api/briefs lists them)")
    return None if set(docs) >= set(pipeline.index.documents) else set(docs)


def answer_events(pipeline: Pipeline, question: Question, engine: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pipeline.stream as (event, data) pairs: preview (the quotes, pending), verdict, token, then answer (``ask --json``'s object)."""
    for event in pipeline.stream(question, engine):
        if isinstance(event, Final):
            metrics.record_answer(event.answer.engine, event.answer.status, event.answer.timings_ms, "api")
        yield event.name, event.data()


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class SlotStream(StreamingResponse):
    """Server-sent events that give their queue slot back however the response ends, even before its first byte."""

    def __init__(self, content: AsyncIterator[str], slot: Slot) -> None:
        super().__init__(content, media_type="text/event-stream", headers=SSE_HEADERS)
        self.slot = slot

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


async def written(events: Iterator[tuple[str, dict[str, Any]]], write: Callable[[str, dict[str, Any]], str]) -> AsyncIterator[str]:
    """The pipeline's events, run in a worker thread, each as written by ``write``; a failure is an "error" event."""
    try:
        async for event, data in iterate_in_threadpool(events):
            text = write(event, data)
            if text:
                yield text
    except RagbotError as exc:
        yield write("error", {"error": str(exc)})
    finally:
        with contextlib.suppress(ValueError):  # still running in its thread after a disconnect: it is closed when collected
            events.close()  # type: ignore[attr-defined]


class Asking:
    """The served pipeline behind the API: questions checked once, slots per queue group, answers in a worker thread."""

    def __init__(self, live: LivePipeline, lanes: Lanes) -> None:
        self.live, self.lanes = live, lanes

    def prepare(
        self, text: str, docs: list[str] | None, k: int | None, history: list[tuple[str, str]] | None = None
    ) -> tuple[Pipeline, Question]:
        """The pipeline and the checked Question; bad input is a 400."""
        pipeline = self.live.pipeline
        try:
            question = pipeline.question(text, k, None, history)
        except RagbotError as exc:
            raise ApiError(400, str(exc)) from None
        found = scope(pipeline, docs)
        return pipeline, replace(question, docs=None if found is None else frozenset(found))

    async def slot_for(self, engine: str, scope: dict[str, Any]) -> Slot:
        """A slot in the engine's queue group (LLM_GROUP for written answers), or 503 when too many are waiting.

        The request's metrics are labelled with the engine (``scope``: the request's ASGI scope).
        """
        metrics.tag_engine(scope, engine)
        slot = await self.lanes.take(LLM_GROUP if engine == "llm" else ASK_GROUP)
        if slot is None:
            raise ApiError(503, "ragbot is busy: too many requests are waiting; try again shortly", "busy", {"Retry-After": "5"})
        return slot

    async def answer_once(self, slot: Slot, pipeline: Pipeline, question: Question, engine: str | None) -> dict[str, Any]:
        """The final answer's object (``ragbot ask --json``'s), computed in a worker thread."""
        try:
            answer = await run_in_threadpool(pipeline.ask, question, engine)
            metrics.record_answer(answer.engine, answer.status, answer.timings_ms, "api")
            return answer.to_dict()
        except RagbotError as exc:
            raise ApiError(500, str(exc), "answer_failed") from None
        finally:
            slot.release()
