"""ragbot as an OpenAI-compatible model, "ragbot": ``GET /v1/models`` and ``POST /v1/chat/completions``.

The content is the checked answer with numbered references, and the citation objects come in an
extra top-level ``citations`` field (with the answer's state in ``ragbot``). The last user message
is the question; earlier user/assistant pairs are the conversation a follow-up is understood from.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ragbot.app.api_errors import ApiError
from ragbot.app.asking import Asking, SlotStream, answer_events, written

MODEL = "ragbot"  # the one model /v1/models lists
SOURCES_HEADING = "Sources:"
EVIDENCE_HEADING = "Closest evidence (not an answer):"
HISTORY_TURNS = 6  # earlier (question, answer) turns kept for follow-ups, as on the page


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request; content is text or a list of parts, of which the text parts are read."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if isinstance(p, dict) and p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat completion request; sampling options (temperature, max_tokens, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    engine: Literal["extractive", "llm"] | None = Field(None, description="ragbot's answer engine (default: the server's)")
    docs: list[str] | None = Field(None, description="only these briefs (default: all)")


def chat_content(answer: dict[str, Any]) -> str:
    """The answer as chat text: its sentences with [n] markers, then the numbered references ("[1] title — passage id")."""
    lines = [answer["answer"]]
    if answer["status"] != "answered" and answer["notice"]:
        lines.append(answer["notice"])
    if answer["citations"]:
        answered = answer["status"] == "answered"
        lines += ["", SOURCES_HEADING if answered else EVIDENCE_HEADING]
        for c in answer["citations"]:
            quote = "" if answered else f": “{c['quote'].strip()}”"
            lines.append(f"[{c['n']}] {c['title']} — {c['passage_id']}{quote}")
    return "\n".join(lines)


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, a user's) and the earlier (question, answer) turns, references stripped."""
    if messages[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", "invalid_messages")
    question = messages[-1].text()
    turns: list[tuple[str, str]] = []
    for before, after in itertools.pairwise(messages[:-1]):
        if before.role == "user" and after.role == "assistant":
            reply = after.text()
            for heading in (SOURCES_HEADING, EVIDENCE_HEADING):
                reply = reply.split(f"\n\n{heading}\n")[0]
            turns.append((before.text(), reply))
    return question, turns[-HISTORY_TURNS:]


def completion(cid: str, created: int, answer: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat.completion object for a final answer, with ragbot's citations and state as extra fields."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": chat_content(answer)}, "finish_reason": "stop"}],
        **extras(answer),
    }


def extras(answer: dict[str, Any]) -> dict[str, Any]:
    """The fields an OpenAI answer carries beside the text: the citation objects and the answer's state."""
    state = {k: answer[k] for k in ("status", "confidence", "engine", "notice", "standalone_question")}
    return {"citations": answer["citations"], "ragbot": state}


def chunk(cid: str, created: int, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    """One OpenAI chat.completion.chunk as a server-sent event."""
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def chunk_writer(cid: str, created: int) -> Any:
    """How each pipeline event goes out as OpenAI chunks: the checked answer once, at the end; SSE comments meanwhile."""

    def write(event: str, data: dict[str, Any]) -> str:
        # The written text is checked after it is written (unsupported sentences are removed, markers renumbered), so
        # the content is sent once checked; meanwhile SSE comments keep the connection alive.
        if event == "answer":
            return (
                chunk(cid, created, {"content": chat_content(data)}) + chunk(cid, created, {}, "stop", **extras(data)) + "data: [DONE]\n\n"
            )
        if event == "error":
            return f"data: {json.dumps({'error': {'message': data['error'], 'type': 'server_error', 'code': 'answer_failed'}})}\n\n"
        return f": {event}\n\n"

    return write


class OpenAIHandlers:
    """The /v1 routes' handlers, asking through the same checks, queue groups and pipeline as /api/ask."""

    def __init__(self, asking: Asking) -> None:
        self.asking = asking

    async def models(self) -> dict[str, Any]:
        """OpenAI's model list, with the one model "ragbot"."""
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "ragbot"}]}

    async def chat_completions(self, body: ChatRequest, request: Request) -> Response:
        """A chat completion (or its chunks, ending `data: [DONE]`) whose content is the checked answer with numbered references."""
        if body.model != MODEL:
            raise ApiError(404, f"the model {body.model!r} does not exist; ragbot serves one model, {MODEL!r}", "model_not_found")
        text, history = conversation(body.messages)
        pipeline, question = self.asking.prepare(text, body.docs, None, history)
        slot = await self.asking.slot_for(body.engine or pipeline.settings.engine, request.scope)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            return JSONResponse(completion(cid, created, await self.asking.answer_once(slot, pipeline, question, body.engine)))

        async def stream() -> AsyncIterator[str]:
            yield chunk(cid, created, {"role": "assistant", "content": ""})
            async for text in written(answer_events(pipeline, question, body.engine), chunk_writer(cid, created)):
                yield text

        return SlotStream(stream(), slot)
