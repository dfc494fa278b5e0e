"""/healthz, /readyz and /metrics on the real server: a balancer's probes need no login, the metrics count what was asked."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import CORPUS, running_server
from .test_api import QUESTION, SMALL_LLM

LOGIN = ("ops", "ops-pass-1")


@pytest.fixture(scope="module")
def served(index, settings, tmp_path_factory) -> Any:
    """`ragbot serve` with a login and the LLM engine (SmolLM2), so /readyz waits for the model; two generations at once."""
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS), "RAGBOT_ENGINE": "llm",
           "RAGBOT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "RAGBOT_USER": LOGIN[0], "RAGBOT_PASSWORD": LOGIN[1],
           "RAGBOT_LLM_CONCURRENCY": "2", **SMALL_LLM}  # fmt: skip
    with running_server(env) as url, httpx.Client(base_url=url, timeout=300) as client:
        yield client


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape by (name, labels)."""
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def total(scrape: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in scrape.items() if n == name and want <= ls)


def scrape(client: httpx.Client) -> dict[tuple[str, frozenset], float]:
    r = client.get("/metrics", auth=LOGIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return samples(r.text)


def test_ready_waits_for_the_model_and_the_probes_need_no_login(served, index):
    """While the bundled model loads, /readyz says "loading" (or, as llama.cpp holds the interpreter, gives no answer at all:
    a balancer's probe then times out, which also means not ready)."""
    deadline, seen = time.time() + 120, []
    while time.time() < deadline:
        try:
            r = served.get("/readyz", timeout=5)
        except httpx.TransportError as exc:
            seen.append(type(exc).__name__)
            continue
        if r.status_code == 200:
            break
        assert r.status_code == 503 and r.json()["llm"] == "loading", r.text
        seen.append("loading")
        time.sleep(0.5)
    report = r.json()
    assert r.status_code == 200 and report["ready"] and report["llm"] == "ready", (report, seen)
    assert report["index"]["passages"] == len(index.passages) and report["index"]["briefs"] == len(index.documents)
    assert served.get("/healthz").json() == {"status": "alive"}


def test_metrics_need_the_login(served):
    r = served.get("/metrics")
    assert r.status_code == 401 and "login" in r.json()["error"]
    assert served.get("/metrics", auth=(LOGIN[0], "wrong")).status_code == 401


def test_metrics_count_the_requests_and_answers_made(served, index):
    before = scrape(served)
    n = 7
    for _ in range(n):
        assert served.post("/api/ask", json={"question": QUESTION, "engine": "extractive"}, auth=LOGIN).status_code == 200
    assert served.post("/api/ask", json={"question": ""}, auth=LOGIN).status_code == 400
    assert served.post("/api/ask", json={"question": QUESTION}).status_code == 401
    after = scrape(served)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("ragbot_http_requests_total", route="/api/ask", engine="extractive", code="200") == n
    assert grew("ragbot_http_request_seconds_count", route="/api/ask", engine="extractive") == n
    assert grew("ragbot_http_requests_total", route="/api/ask", code="400") == 1
    assert grew("ragbot_http_requests_total", route="/api/ask", code="401") == 1
    assert grew("ragbot_answers_total", engine="extractive", via="api") == n
    assert grew("ragbot_answers_total", engine="extractive", via="api", status="answered") == n
    assert total(after, "ragbot_index_passages") == len(index.passages)
    assert total(after, "ragbot_index_segments") >= 1
    assert total(after, "ragbot_queue_limit", group="ask") >= 1 and total(after, "ragbot_queue_running", group="ask") == 0


def test_an_llm_answer_counts_its_state_and_the_judges_time(served):
    before = scrape(served)
    r = served.post("/api/ask", json={"question": QUESTION, "engine": "llm"}, auth=LOGIN)
    assert r.status_code == 200, r.text
    status = r.json()["status"]
    after = scrape(served)
    assert (
        total(after, "ragbot_answers_total", engine="llm", status=status)
        - total(before, "ragbot_answers_total", engine="llm", status=status)
        == 1
    )
    assert total(after, "ragbot_judge_seconds_count") - total(before, "ragbot_judge_seconds_count") == 1
    assert (
        total(after, "ragbot_http_requests_total", route="/api/ask", engine="llm")
        - total(before, "ragbot_http_requests_total", route="/api/ask", engine="llm")
        == 1
    )


def test_llm_concurrency_sets_the_llm_groups_limit(served):
    assert total(scrape(served), "ragbot_queue_limit", group="llm") == 2  # the API's slots, which the page's writes hold too
