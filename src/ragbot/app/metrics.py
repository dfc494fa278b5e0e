"""Prometheus metrics of one served process, at ``GET /metrics`` (prometheus-client's text format).

Counted as they happen: HTTP requests and their latency by route and engine (RequestMetrics, an ASGI
middleware; a handler names the engine with ``tag_engine``), finished answers by engine, state
(answered / unsure / abstained) and where they were asked (page or API), and the judge's time.
Read at each scrape (LiveCollector): the index (briefs, passages, segments) and the queue groups
(limit, running, waiting). Each replica has its own figures: scrape every replica.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ragbot.app.concurrency import Lanes
from ragbot.app.live import LivePipeline

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

ENGINE_KEY = "ragbot.engine"  # the ASGI scope key a handler sets to the engine it answered with
NO_ENGINE = "none"
SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter("ragbot_http_requests", "HTTP requests answered, by route, method, engine and status code",
                   ["route", "method", "engine", "code"], registry=REGISTRY)  # fmt: skip
REQUEST_SECONDS = Histogram("ragbot_http_request_seconds", "Time from request to the end of the response (a stream's whole length)",
                            ["route", "engine"], buckets=SECONDS, registry=REGISTRY)  # fmt: skip
ANSWERS = Counter("ragbot_answers", "Finished answers by engine, state (answered, unsure, abstained) and where asked (page, api)",
                  ["engine", "status", "via"], registry=REGISTRY)  # fmt: skip
ANSWER_SECONDS = Histogram("ragbot_answer_seconds", "Time to a finished answer inside ragbot (retrieval, judge, writing)",
                           ["engine"], buckets=SECONDS, registry=REGISTRY)  # fmt: skip
JUDGE_SECONDS = Histogram("ragbot_judge_seconds", "The answerability judge's time per LLM answer (the model's check)",
                          buckets=SECONDS, registry=REGISTRY)  # fmt: skip


def record_answer(engine: str, status: str, timings_ms: Mapping[str, float], via: str) -> None:
    """Count one finished answer, with its total time and, for the LLM engine, the judge's."""
    ANSWERS.labels(engine or NO_ENGINE, status, via).inc()
    total = timings_ms.get("total", timings_ms.get("answer"))
    if total is not None:
        ANSWER_SECONDS.labels(engine or NO_ENGINE).observe(total / 1000)
    if "judgement" in timings_ms:
        JUDGE_SECONDS.observe(timings_ms["judgement"] / 1000)


def record_answer_dict(answer: Mapping[str, Any], via: str) -> None:
    """Count a finished answer given as ``Answer.to_dict``'s object."""
    record_answer(str(answer.get("engine") or ""), str(answer.get("status")), answer.get("timings_ms") or {}, via)


def tag_engine(scope: dict[str, Any], engine: str) -> None:
    """Label this request's metrics with the engine it is answered by."""
    scope[ENGINE_KEY] = engine


def route_of(scope: Mapping[str, Any]) -> str:
    """The matched route's path template ("/api/ask", "/gradio_api/file={path_or_url:path}"), so labels stay few."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "other")


class RequestMetrics:
    """ASGI middleware: counts every HTTP request and times it to the end of its response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route, engine = route_of(scope), str(scope.get(ENGINE_KEY) or NO_ENGINE)
            REQUESTS.labels(route, scope.get("method", ""), engine, str(status[0])).inc()
            REQUEST_SECONDS.labels(route, engine).observe(time.perf_counter() - start)


class LiveCollector(Collector):
    """Figures read at each scrape: the served index and the queue groups."""

    def __init__(self, live: LivePipeline, lanes: Lanes, blocks: Any = None) -> None:
        self.live, self.lanes, self.blocks = live, lanes, blocks

    def gradio_waiting(self) -> dict[str, int]:
        """Page events waiting in Gradio's queue, per concurrency group."""
        queues = getattr(getattr(self.blocks, "_queue", None), "event_queue_per_concurrency_id", None) or {}
        waiting = dict.fromkeys(self.lanes.limits, 0)
        for group, queue in list(queues.items()):
            key = group if group in waiting else "other"
            waiting[key] = waiting.get(key, 0) + len(queue.queue)
        return waiting

    def collect(self) -> Iterator[Metric]:
        index = self.live.pipeline.index
        for name, what, value in (("briefs", "Briefs", len(index.documents)), ("passages", "Passages", len(index.passages)),
                                  ("segments", "Segments", len(index.segments))):  # fmt: skip
            yield GaugeMetricFamily(f"ragbot_index_{name}", f"{what} in the served index", value=value)
        limit = GaugeMetricFamily("ragbot_queue_limit", "Requests a queue group runs at once", labels=["group"])
        running = GaugeMetricFamily("ragbot_queue_running", "Requests running in a queue group (page and API)", labels=["group"])
        for group, n in self.lanes.limits.items():
            limit.add_metric([group], n)
            running.add_metric([group], self.lanes.running[group])
        waiting = GaugeMetricFamily("ragbot_queue_waiting", "Requests waiting for a slot: page events in Gradio's queue, API calls",
                                    labels=["group", "via"])  # fmt: skip
        for group, n in self.gradio_waiting().items():
            waiting.add_metric([group, "page"], n)
        waiting.add_metric(["any", "api"], self.lanes.waiting)
        yield from (limit, running, waiting)


_watched: list[LiveCollector] = []


def watch(live: LivePipeline, lanes: Lanes, blocks: Any = None) -> None:
    """Report this process's served index and queues (replacing whatever was watched before)."""
    while _watched:
        REGISTRY.unregister(_watched.pop())
    collector = LiveCollector(live, lanes, blocks)
    REGISTRY.register(collector)
    _watched.append(collector)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
