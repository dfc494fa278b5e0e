"""``llm_concurrency`` on the real server: a remote model is asked for at most that many answers at once, and no fewer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from .conftest import CORPUS, running_server
from .test_api import QUESTION


class SlowBackend(ThreadingHTTPServer):
    """An OpenAI-compatible server stand-in that holds every request a while, then fails it: counts requests in flight."""

    daemon_threads = True

    def __init__(self, hold: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hold, self.in_flight, self.most, self.calls = hold, 0, 0, 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: SlowBackend

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.calls += 1
            self.server.most = max(self.server.most, self.server.in_flight)
        time.sleep(self.server.hold)
        with self.server.lock:
            self.server.in_flight -= 1
        self.send_response(503)  # the engine falls back to the quotes; what counts here is how many calls overlapped
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "busy"}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[SlowBackend]:
    server = SlowBackend(hold=1.5)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.mark.parametrize("limit", [1, 2])
def test_the_api_asks_the_backend_for_llm_concurrency_answers_at_once(limit, backend, index, settings, tmp_path):
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS), "RAGBOT_DATA_DIR": str(tmp_path),
           "RAGBOT_LLM_BASE_URL": f"http://127.0.0.1:{backend.server_address[1]}/v1", "RAGBOT_LLM_MODEL": "any",
           "RAGBOT_LLM_CONCURRENCY": str(limit)}  # fmt: skip
    with running_server(env) as url, httpx.Client(base_url=url, timeout=120) as client, ThreadPoolExecutor(6) as pool:
        asks = [pool.submit(client.post, "/api/ask", json={"question": QUESTION, "engine": "llm"}) for _ in range(6)]
        answers = [f.result() for f in asks]
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    assert backend.calls >= 6 and backend.most == limit, (backend.calls, backend.most)
