"""What a load balancer and a monitor ask a replica: ``/healthz`` (alive), ``/readyz`` (ready for traffic) and ``/metrics``.

``/healthz`` and ``/readyz`` need no login (a balancer probes them) and reveal no library content: the
index's size and the model's state. ``/metrics`` is behind the API's login when one is set (Prometheus'
``basic_auth``), since it shows how the deployment is used.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from ragbot.app import metrics
from ragbot.app.api_errors import ErrorRoute
from ragbot.app.auth import ApiLogin
from ragbot.app.live import LivePipeline
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError

NOT_NEEDED, LOADING, READY, FAILED = "not needed", "loading", "ready", "failed"


class Readiness:
    """Whether this replica should take traffic: its index is loaded, and its LLM is ready or not needed."""

    def __init__(self, live: LivePipeline, needs_llm: bool) -> None:
        self.live = live
        self.llm, self.llm_error = (LOADING if needs_llm else NOT_NEEDED), ""
        self._lock = threading.Lock()

    def warm_llm(self, pipeline: Pipeline) -> None:
        """Load the LLM before the first question; if it cannot load, say so once (answers fall back to quotes)."""
        try:
            getattr(pipeline.engine("llm"), "model", None)  # the property joins the model file and starts llama.cpp
        except RagbotError as exc:
            print(f"ragbot: the LLM did not load ({exc}); answers will be quotes", file=sys.stderr)
            with self._lock:
                self.llm, self.llm_error = FAILED, str(exc)
            return
        with self._lock:
            self.llm = READY

    def state(self) -> dict[str, Any]:
        """The readiness report: ready, the index's size and build, the LLM's state."""
        index = self.live.pipeline.index
        with self._lock:
            llm, error = self.llm, self.llm_error
        report: dict[str, Any] = {
            "ready": llm in (READY, NOT_NEEDED),
            "index": {"briefs": len(index.documents), "passages": len(index.passages), "build": index.manifest.get("build")},
            "llm": llm,
        }
        if error:
            report["llm_error"] = error
        return report


class HealthHandlers:
    """The three routes' handlers."""

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness

    async def healthz(self) -> dict[str, str]:
        """Alive: the process answers HTTP."""
        return {"status": "alive"}

    async def readyz(self) -> JSONResponse:
        """200 when this replica can answer (index loaded, LLM ready or not needed), else 503 with the reason."""
        report = self.readiness.state()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    async def metrics(self) -> Response:
        """Prometheus' text format."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


def build_health(readiness: Readiness, api_login: ApiLogin) -> APIRouter:
    """The routes, to serve beside the API (before Gradio's own)."""
    handlers = HealthHandlers(readiness)
    router = APIRouter(route_class=ErrorRoute)
    router.add_api_route("/healthz", handlers.healthz, methods=["GET"], summary="Alive")
    router.add_api_route("/readyz", handlers.readyz, methods=["GET"], response_model=None, summary="Ready for traffic (503 if not)")
    router.add_api_route("/metrics", handlers.metrics, methods=["GET"], response_model=None, dependencies=[Depends(api_login)],
                         summary="Prometheus metrics (behind the login when one is set)")  # fmt: skip
    return router
