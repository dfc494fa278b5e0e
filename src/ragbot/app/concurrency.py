"""How the page's Gradio queue shares a 2-core machine among many users (figures from bench/load.py, README "Reliability").

Events in different concurrency groups never wait for each other: Gradio's queue keeps one line per
group and starts the next event of any group that is under its limit. So a slow event (a generated
LLM answer) belongs in LLM_GROUP, and retrieval-only requests keep flowing in ASK_GROUP beside it.
"""

from __future__ import annotations

from typing import Any

ASK_GROUP = "ask"  # the Ask button and Enter in the question box: retrieval + extractive answer, ~20 ms of CPU each
# Asks run at once. bench/load.py, 20 users, 5 runs each: limit 1, 2, 4 gave 14.7, 16.2, 17.1 requests/s (medians; ranges
# overlap) and p95 2.1, 1.6, 1.7 s; 4 had the best median and the narrowest range, and more only adds GIL contention on 2 cores.
ASK_LIMIT = 4
LLM_GROUP = "llm"  # reserved for a generative answer engine's event: its own line, so it never holds up ASK_GROUP
LLM_LIMIT = 1  # one generation at a time leaves the other core to retrieval
# numpy (OpenBLAS) threads while serving: its default of 2 per ask thrashes once asks or other jobs share the cores
# (bench/load.py, 20 users: 4.0-6.1 requests/s and p95 8-9 s with the default, 15-19 requests/s and p95 1.3-2.7 s with 1).
BLAS_THREADS = 1
# Sessions whose state Gradio keeps in memory, ~120 kB each (every API call is a new session). With its default of 10,000
# RSS grew 243 MB in 3 minutes of load and on toward ~1.2 GB; with 1,000 it levels off after ~2 minutes (README "Reliability").
SESSION_CAPACITY = 1000
QUEUE_MAX_SIZE = 256  # waiting events across all users; past this a request is refused at once ("queue is full"), memory stays bounded


def with_queue(app: Any) -> Any:
    """The app with ragbot's queue: asks under ASK_LIMIT, other groups under their own limits, at most QUEUE_MAX_SIZE waiting."""
    return app.queue(default_concurrency_limit=ASK_LIMIT, max_size=QUEUE_MAX_SIZE)
