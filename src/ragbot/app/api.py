"""The HTTP API beside the page: ``POST /api/ask``, ``GET /api/briefs``, and the OpenAI-compatible ``/v1`` (openai_api.py).

``/api/ask`` answers with exactly the object ``ragbot ask --json`` prints (``Answer.to_dict``), or as
server-sent events: the instant quotes (``preview``), the model's check (``verdict``), written text
(``token``), then that same object (``answer``). Every route sits behind the page's login
(auth.py) and shares its queue groups and limits (concurrency.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ragbot.app.api_errors import ErrorRoute, OpenAIErrorRoute
from ragbot.app.asking import Asking, SlotStream, answer_events, sse, written
from ragbot.app.auth import ApiLogin
from ragbot.app.briefs_api import BriefUploads
from ragbot.app.concurrency import LANES, Lanes
from ragbot.app.live import LivePipeline
from ragbot.app.openai_api import OpenAIHandlers
from ragbot.app.roles import Users


class AskRequest(BaseModel):
    """The body of POST /api/ask."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="the question, as asked on the page")
    engine: Literal["extractive", "llm"] | None = Field(None, description="answer engine (default: the server's engine setting)")
    docs: list[str] | None = Field(None, description="only these briefs (file names as in the corpus folder; default: all)")
    k: int | None = Field(None, ge=1, le=100, description="passages in the ranked list (default: the top_k setting)")
    stream: bool = Field(False, description="answer as server-sent events (so does `Accept: text/event-stream`)")


class AskHandlers:
    """The /api routes' handlers."""

    def __init__(self, asking: Asking) -> None:
        self.asking = asking

    async def ask(self, body: AskRequest, request: Request) -> Response:
        """The `ragbot ask --json` object, or server-sent events (preview, verdict, token, answer) when streaming."""
        pipeline, question = self.asking.prepare(body.question, body.docs, body.k)
        slot = await self.asking.slot_for(body.engine or pipeline.settings.engine, request.scope)
        if body.stream or "text/event-stream" in request.headers.get("accept", ""):
            return SlotStream(written(answer_events(pipeline, question, body.engine), sse), slot)
        return JSONResponse(await self.asking.answer_once(slot, pipeline, question, body.engine))

    async def briefs(self) -> list[dict[str, Any]]:
        """Each brief's file name (what `docs` takes), title, date, authors and passage count."""
        documents = self.asking.live.pipeline.index.documents
        keys = ("title", "date", "authors", "n_passages")
        return [{"doc_id": doc_id, **{k: d.get(k) for k in keys}} for doc_id, d in documents.items()]


def build_api(live: LivePipeline, users: Users, lanes: Lanes = LANES) -> APIRouter:
    """The API's routes, to serve in the page's FastAPI app (before Gradio's own routes)."""
    asking, api_login = Asking(live, lanes), ApiLogin(users)
    login = [Depends(api_login)]
    ask, chat = AskHandlers(asking), OpenAIHandlers(asking)
    router = APIRouter(route_class=ErrorRoute, dependencies=login)
    router.add_api_route("/api/ask", ask.ask, methods=["POST"], response_model=None,
                         summary="Answer a question with cited passages (the `ragbot ask --json` object)")  # fmt: skip
    router.add_api_route("/api/briefs", ask.briefs, methods=["GET"], summary="The briefs in the library, for `docs`")
    router.add_api_route("/api/briefs/upload", BriefUploads(live, api_login).upload, methods=["POST"],
                         summary="Add documents to the library (multipart `files`; editors only)")  # fmt: skip
    openai = APIRouter(route_class=OpenAIErrorRoute, dependencies=login)
    openai.add_api_route("/v1/models", chat.models, methods=["GET"], summary="The one model: ragbot")
    openai.add_api_route("/v1/chat/completions", chat.chat_completions, methods=["POST"], response_model=None,
                         summary="OpenAI-compatible chat: the last user message is the question")  # fmt: skip
    routes = [*router.routes, *openai.routes]

    async def schema() -> dict[str, Any]:
        """This API's OpenAPI description (the page's own Gradio routes are not in it)."""
        return get_openapi(title="ragbot HTTP API", version="1", description=__doc__ or "", routes=routes)

    router.add_api_route("/api/openapi.json", schema, methods=["GET"], include_in_schema=False)
    router.include_router(openai)
    return router
