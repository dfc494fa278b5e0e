"""The page's queue: a slow event in the LLM group never holds up asks (retrieval-only requests) behind it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ragbot.app.concurrency import ASK_GROUP, ASK_LIMIT, LLM_GROUP, with_queue


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _result(client: httpx.Client, api: str, event_id: str) -> str:
    return client.get(f"/gradio_api/call/{api}/{event_id}").text


def _answered_within(futures: list, seconds: float) -> int:
    deadline, n = time.monotonic() + seconds, 0
    for f in futures:
        with contextlib.suppress(TimeoutError):
            n += "answer to" in f.result(timeout=max(0.0, deadline - time.monotonic()))
    return n


@pytest.mark.parametrize("slow_group", [LLM_GROUP, ASK_GROUP])
def test_asks_flow_past_slow_generations_only_when_those_are_in_their_own_group(slow_group: str):
    import gradio as gr

    release, running = threading.Event(), threading.Semaphore(0)

    def generate(question: str) -> str:  # stands for a slow LLM answer: holds its slot until released
        running.release()
        release.wait(300)
        return "generated"

    with gr.Blocks() as app:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(generate, box, out, api_name="generate", concurrency_id=slow_group,
                          concurrency_limit=1 if slow_group == LLM_GROUP else "default")  # fmt: skip
        gr.Button().click(lambda q: f"answer to {q}", box, out, api_name="ask", concurrency_id=ASK_GROUP)
    port = _port()
    with_queue(app).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client, ThreadPoolExecutor(24) as pool:
            slow = [client.post("/gradio_api/call/generate", json={"data": ["q"]}).json()["event_id"] for _ in range(ASK_LIMIT + 2)]
            slow_results = [pool.submit(_result, client, "generate", e) for e in slow]
            for _ in range(1 if slow_group == LLM_GROUP else ASK_LIMIT):  # the slow ones hold every slot of their group
                assert running.acquire(timeout=120), "a generation did not start"
            asks = [client.post("/gradio_api/call/ask", json={"data": [f"q{i}"]}).json()["event_id"] for i in range(10)]
            done = [pool.submit(_result, client, "ask", e) for e in asks]
            if slow_group == LLM_GROUP:  # no time limit (that is bench/load.py's): all ten answer while no generation may end
                answered = _answered_within(done, 120)
                assert answered == 10, f"{answered} of 10 asks answered behind generations"
                assert not any(f.done() for f in slow_results), "the generations were still running meanwhile"
            else:  # the same slow work in the asks' own group blocks them (none can run): what LLM_GROUP is for
                assert _answered_within(done, 5) == 0
            release.set()
            assert all("generated" in f.result(timeout=30) for f in slow_results)
    finally:
        release.set()
        app.close()
