"""How the page's Gradio queue shares a small machine among many users (limits chosen with bench/load.py: docs/measurements/).

Events in different concurrency groups never wait for each other: Gradio's queue keeps one line per
group and starts the next event of any group that is under its limit. So a slow event (a generated
LLM answer) belongs in LLM_GROUP, and retrieval-only requests keep flowing in ASK_GROUP beside it.
The HTTP API (ragbot/app/api.py) takes its slots from the same groups through LANES, so the page and
the API together run at most ASK_LIMIT asks and ``llm_concurrency`` generations at once (configure()).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ragbot.settings import Settings

ASK_GROUP = "ask"  # the Ask button and Enter in the question box: retrieval + extractive answer, milliseconds of CPU each
# Asks run at once, a few at a time: more only adds GIL contention on a small machine.
ASK_LIMIT = 4
LLM_GROUP = "llm"  # reserved for a generative answer engine's event: its own line, so it never holds up ASK_GROUP
# Generations at once: the llm_concurrency setting (configure()). 1 for the bundled model (one llama.cpp slot, and the other
# core left to retrieval); a remote backend's parallel slots for llm_base_url (docs/deploy.md "Sizing").
# numpy (OpenBLAS) threads while serving: its default of one per core thrashes once asks or other jobs share the cores.
BLAS_THREADS = 1
# Sessions whose state Gradio keeps in memory (every API call is a new session): its default of 10,000 lets memory grow
# for a long time under load; 1,000 bounds it.
SESSION_CAPACITY = 1000
QUEUE_MAX_SIZE = 256  # waiting events across all users; past this a request is refused at once ("queue is full"), memory stays bounded


def with_queue(app: Any) -> Any:
    """The app with ragbot's queue: asks under ASK_LIMIT, other groups under their own limits, at most QUEUE_MAX_SIZE waiting."""
    return app.queue(default_concurrency_limit=ASK_LIMIT, max_size=QUEUE_MAX_SIZE)


class Lanes:
    """Slots per concurrency group, shared by the page's events and the HTTP API: same groups, same limits.

    A page event has already waited in Gradio's queue and waits here only while API calls hold the group's slots.
    An API call waits without holding a thread, and is refused at once (the caller answers 503) when
    ``max_waiting`` calls are already waiting, as Gradio's queue refuses past QUEUE_MAX_SIZE.
    """

    POLL_SECONDS = 0.02  # how often a waiting API call looks for a free slot

    def __init__(self, limits: dict[str, int], max_waiting: int) -> None:
        self.limits, self.max_waiting = dict(limits), max_waiting
        self.running = dict.fromkeys(limits, 0)
        self.waiting = 0
        self._free = threading.Condition()

    def _take(self, group: str) -> bool:
        """Take a slot if one is free (the caller holds the lock)."""
        if self.running[group] >= self.limits[group]:
            return False
        self.running[group] += 1
        return True

    def set_limit(self, group: str, limit: int) -> None:
        """Run at most ``limit`` of the group at once from now on (waiting callers are woken to look again)."""
        with self._free:
            self.limits[group] = limit
            self.running.setdefault(group, 0)
            self._free.notify_all()

    def give_back(self, group: str) -> None:
        with self._free:
            self.running[group] -= 1
            self._free.notify_all()

    @contextmanager
    def hold(self, group: str) -> Iterator[None]:
        """A slot for a page event, for as long as the block runs; waits as long as it takes."""
        with self._free:
            self._free.wait_for(lambda: self._take(group))
        try:
            yield
        finally:
            self.give_back(group)

    async def take(self, group: str) -> Slot | None:
        """A slot for an API call, or None when max_waiting calls are already waiting."""
        with self._free:
            if self._take(group):
                return Slot(self, group)
            if self.waiting >= self.max_waiting:
                return None
            self.waiting += 1
        try:
            while True:
                await asyncio.sleep(self.POLL_SECONDS)
                with self._free:
                    if self._take(group):
                        return Slot(self, group)
        finally:
            with self._free:
                self.waiting -= 1


class Slot:
    """One API call's slot in a group; release() may be called from every way out, only the first one counts."""

    def __init__(self, lanes: Lanes, group: str) -> None:
        self.lanes, self.group = lanes, group
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if held:
            self.lanes.give_back(self.group)


# The one set of slots of this process: ragbot serves one page and one API from it.
LANES = Lanes({ASK_GROUP: ASK_LIMIT, LLM_GROUP: Settings.model_fields["llm_concurrency"].default}, QUEUE_MAX_SIZE)


def configure(settings: Settings, lanes: Lanes = LANES) -> None:
    """The limits that come from settings: ``llm_concurrency`` generations at once, page and API together."""
    lanes.set_limit(LLM_GROUP, settings.llm_concurrency)
