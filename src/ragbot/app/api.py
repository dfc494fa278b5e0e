"""The HTTP API beside the page: ``POST /api/ask`` and an OpenAI-compatible ``/v1/chat/completions``.

``/api/ask`` answers with exactly the object ``ragbot ask --json`` prints (``Answer.to_dict``), or as
server-sent events: the instant quotes (``preview``), the model's check (``verdict``), written text
(``token``), then that same object (``answer``). ``/v1/chat/completions`` serves ragbot as the model
"ragbot" to any OpenAI client: the content is the checked answer with numbered references, and the
citation objects come in an extra top-level ``citations`` field. Both sit behind the page's login
(HTTP Basic, or ``Authorization: Bearer name:password`` as OpenAI clients send their API key, or the
page's login cookie) and share its queue groups and limits (ragbot/app/concurrency.py).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException

from ragbot.app.concurrency import ASK_GROUP, LANES, LLM_GROUP, Lanes, Slot
from ragbot.app.live import LivePipeline
from ragbot.app.roles import Users
from ragbot.chain import Pipeline, check_k, clean_question
from ragbot.citations import PENDING, Answer
from ragbot.engines.judge import Verdict
from ragbot.errors import RagbotError

MODEL = "ragbot"  # the one model /v1/models lists
SOURCES_HEADING = "Sources:"
EVIDENCE_HEADING = "Closest evidence (not an answer):"
HISTORY_TURNS = 6  # earlier (question, answer) turns kept for follow-ups, as on the page
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LOGIN_HELP = "log in with HTTP Basic auth (curl -u name:password) or the header `Authorization: Bearer name:password`"


class AskRequest(BaseModel):
    """The body of POST /api/ask."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="the question, as asked on the page")
    engine: Literal["extractive", "llm"] | None = Field(None, description="answer engine (default: the server's engine setting)")
    docs: list[str] | None = Field(None, description="only these briefs (file names as in the corpus folder; default: all)")
    k: int | None = Field(None, ge=1, le=100, description="passages in the ranked list (default: the top_k setting)")
    stream: bool = Field(False, description="answer as server-sent events (so does `Accept: text/event-stream`)")


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


class ApiError(Exception):
    """A refusal with its HTTP status and one line saying why."""

    def __init__(self, status: int, message: str, code: str = "invalid_request", headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def _validation_message(exc: RequestValidationError) -> str:
    """The first validation error as one line: "question: Field required"."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    err = errors[0]
    if err.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if tuple(err.get("loc", ())) == ("body",):
        return "the body must be a JSON object, sent with Content-Type: application/json"
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid request"))


class _Errors(APIRoute):
    """A route whose errors are one line of JSON: {"error": "..."} (OpenAI's {"error": {"message": ...}} when openai is set)."""

    openai = False

    def error(self, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.message}
        if self.openai:
            body = {"error": {"message": exc.message, "type": "invalid_request_error", "param": None, "code": exc.code}}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return self.error(exc)
            except RequestValidationError as exc:
                return self.error(ApiError(422, _validation_message(exc)))
            except HTTPException as exc:
                return self.error(ApiError(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})))

        return handle


class _OpenAIErrors(_Errors):
    openai = True


def credentials(request: Request) -> tuple[str, str] | None:
    """(name, password) from `Authorization: Basic ...` or `Authorization: Bearer name:password`, else None."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    name, colon, password = value.partition(":")
    return (name, password) if colon else None


def page_login(request: Request) -> str | None:
    """The user logged in to the page, from Gradio's login cookie (when the API is served inside Gradio's app)."""
    app = request.app
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or not cookie_id:
        return None
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(f"access-token-unsecure-{cookie_id}")
    return tokens.get(token) if token else None


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


def answer_events(
    pipeline: Pipeline, question: str, k: int | None, docs: set[str] | None, history: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pipeline.stream as (event, data) pairs: preview (the quotes, pending), verdict, token, then answer (``ask --json``'s object)."""
    for event in pipeline.stream(question, k=k, docs=docs, history=history):
        if isinstance(event, Answer):
            yield ("preview" if event.status == PENDING else "answer"), event.to_dict()
        elif isinstance(event, Verdict):
            verdict = asdict(event)
            yield "verdict", {**verdict, "confidence": round(verdict["confidence"], 4)}
        else:
            yield "token", {"text": event}


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


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


def build_api(live: LivePipeline, users: Users, lanes: Lanes = LANES) -> APIRouter:
    """The API's routes, to serve in the page's FastAPI app (before Gradio's own routes)."""
    router = APIRouter(route_class=_Errors)
    openai = APIRouter(route_class=_OpenAIErrors)

    def login(request: Request) -> str | None:
        """The caller's name (None without a login); 401 when a login is required and none is given."""
        if not users.login_required:
            return None
        given = credentials(request)
        if given is not None and users.check(*given):
            return given[0]
        user = page_login(request)
        if user is not None:
            return user
        why = "wrong name or password" if given is not None else "a login is required"
        raise ApiError(401, f"{why}: {LOGIN_HELP}", "invalid_api_key", {"WWW-Authenticate": 'Basic realm="ragbot"'})

    def prepare(question: str, engine: str | None, docs: list[str] | None, k: int | None) -> tuple[Pipeline, str, set[str] | None]:
        """The pipeline for the engine, the checked question and the briefs to search; bad input is a 400."""
        pipeline = live.with_engine(engine)
        try:
            text = clean_question(question, pipeline.settings.max_question_chars)
            check_k(k)
        except RagbotError as exc:
            raise ApiError(400, str(exc)) from None
        return pipeline, text, scope(pipeline, docs)

    async def slot_for(pipeline: Pipeline) -> Slot:
        """A slot in the engine's queue group (LLM_GROUP for written answers), or 503 when too many are waiting."""
        slot = await lanes.take(LLM_GROUP if pipeline.settings.engine == "llm" else ASK_GROUP)
        if slot is None:
            raise ApiError(503, "ragbot is busy: too many requests are waiting; try again shortly", "busy", {"Retry-After": "5"})
        return slot

    async def answer_once(slot: Slot, pipeline: Pipeline, *args: Any) -> dict[str, Any]:
        """The final answer's object (``ragbot ask --json``'s), computed in a worker thread."""
        try:
            return (await run_in_threadpool(pipeline.ask, *args)).to_dict()
        except RagbotError as exc:
            raise ApiError(500, str(exc), "answer_failed") from None
        finally:
            slot.release()

    @router.post("/api/ask", response_model=None, summary="Answer a question with cited passages (the `ragbot ask --json` object)")
    async def ask(body: AskRequest, request: Request, user: str | None = Depends(login)) -> Response:
        """The `ragbot ask --json` object, or server-sent events (preview, verdict, token, answer) when streaming."""
        pipeline, question, docs = prepare(body.question, body.engine, body.docs, body.k)
        slot = await slot_for(pipeline)
        if body.stream or "text/event-stream" in request.headers.get("accept", ""):
            events = answer_events(pipeline, question, body.k, docs)
            return SlotStream(written(events, sse), slot)
        return JSONResponse(await answer_once(slot, pipeline, question, body.k, docs))

    @router.get("/api/briefs", summary="The briefs in the library, for `docs`")
    async def briefs(user: str | None = Depends(login)) -> list[dict[str, Any]]:
        """Each brief's file name (what `docs` takes), title, date, authors and passage count."""
        documents = live.pipeline.index.documents
        keys = ("title", "date", "authors", "n_passages")
        return [{"doc_id": doc_id, **{k: d.get(k) for k in keys}} for doc_id, d in documents.items()]

    @openai.get("/v1/models", summary="The one model: ragbot")
    async def models(user: str | None = Depends(login)) -> dict[str, Any]:
        """OpenAI's model list, with the one model "ragbot"."""
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "ragbot"}]}

    @openai.post("/v1/chat/completions", response_model=None, summary="OpenAI-compatible chat: the last user message is the question")
    async def chat_completions(body: ChatRequest, user: str | None = Depends(login)) -> Response:
        """A chat completion (or its chunks, ending `data: [DONE]`) whose content is the checked answer with numbered references."""
        if body.model != MODEL:
            raise ApiError(404, f"the model {body.model!r} does not exist; ragbot serves one model, {MODEL!r}", "model_not_found")
        question, history = conversation(body.messages)
        pipeline, question, docs = prepare(question, body.engine, body.docs, None)
        slot = await slot_for(pipeline)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            return JSONResponse(completion(cid, created, await answer_once(slot, pipeline, question, None, docs, history)))

        def write(event: str, data: dict[str, Any]) -> str:
            # The written text is checked after it is written (unsupported sentences are removed, markers renumbered), so
            # the content is sent once checked; meanwhile SSE comments keep the connection alive.
            if event == "answer":
                return (
                    chunk(cid, created, {"content": chat_content(data)})
                    + chunk(cid, created, {}, "stop", **extras(data))
                    + "data: [DONE]\n\n"
                )
            if event == "error":
                return f"data: {json.dumps({'error': {'message': data['error'], 'type': 'server_error', 'code': 'answer_failed'}})}\n\n"
            return f": {event}\n\n"

        async def stream() -> AsyncIterator[str]:
            yield chunk(cid, created, {"role": "assistant", "content": ""})
            async for text in written(answer_events(pipeline, question, None, docs, history), write):
                yield text

        return SlotStream(stream(), slot)

    from ragbot.app.briefs_api import briefs_router  # POST /api/briefs/upload: editors add documents

    router.include_router(briefs_router(live, users, login))
    routes = [*router.routes, *openai.routes]

    @router.get("/api/openapi.json", include_in_schema=False)
    async def schema(user: str | None = Depends(login)) -> dict[str, Any]:
        """This API's OpenAPI description (the page's own Gradio routes are not in it)."""
        return get_openapi(title="ragbot HTTP API", version="1", description=__doc__ or "", routes=routes)

    router.include_router(openai)
    return router
