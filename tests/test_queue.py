"""The page's queue on the real server: generations holding and queueing in the LLM group never hold up asks behind them.

`ragbot serve` runs as a subprocess with its LLM step gated: each generation marks that it started and waits for a
release file, so ASK_LIMIT + 1 generations started from as many browser pages hold the one LLM slot (llm_concurrency 1) and
queue in Gradio's LLM group for as long as the test needs, whatever the machine's speed. Asks through the page's
/ask endpoint must all answer meanwhile; then the release lets every generation end on its page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ragbot.app.concurrency import ASK_LIMIT, LLM_GROUP
from ragbot.index.reader import Index
from ragbot.settings import Settings

from .chromium import launch, require_chromium
from .conftest import CORPUS, running_server

require_chromium()

CHECKING = "checking whether they state the answer"  # a pending answer's first line on the page, until the model's check ends
QUESTION = "What share of South Korea's energy supplies passes through the Malacca Strait?"
PAGES = ASK_LIMIT + 1  # one generation runs, the others wait in the LLM group: enough to fill the ask group, were they in it
# Run in the server's process: LLMEngine._judge_and_write touches {gate}/running-<n>, then waits for {gate}/release.
GATED_WRITING = """
import time, uuid
from pathlib import Path
from ragbot.engines.llm import LLMEngine
gate, judge_and_write = Path({gate!r}), LLMEngine._judge_and_write
def held(self, *args, **kwargs):
    (gate / f"running-{{uuid.uuid4().hex}}").touch()
    while not (gate / "release").exists():
        time.sleep(0.05)
    return judge_and_write(self, *args, **kwargs)
LLMEngine._judge_and_write = held
"""


def until(check, what: str, seconds: float = 180) -> None:
    """Wait for check() (a hang guard, not a speed target: the test asserts what happens, never how fast)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}: not after {seconds} s"
        time.sleep(0.2)


@contextmanager
def gated_server(env: dict[str, str], gate: Path) -> Iterator[str]:
    """The real `ragbot serve`, its generations gated on gate/release; yields its URL once /readyz says ready."""
    with running_server(env, GATED_WRITING.format(gate=str(gate))) as url:
        try:
            until(lambda: httpx.get(f"{url}readyz", timeout=30).status_code == 200, "ragbot serve ready")
            yield url
        finally:
            (gate / "release").touch()


def _metric(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}metrics", timeout=30).text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(want)}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else -1.0


def _waiting(url: str) -> float:
    """Page events waiting in Gradio's queue, all groups together."""
    text = httpx.get(f"{url}metrics", timeout=30).text
    return sum(float(v) for v in re.findall(r'^ragbot_queue_waiting\{group="[^"]*",via="page"\} (\S+)$', text, re.M))


def _ask(url: str, data: list) -> str:
    """One /ask through Gradio's HTTP API (the page's Ask event, in the ask group): the final event and its data."""
    with httpx.Client(base_url=url, timeout=300) as client:
        event_id = client.post("/gradio_api/call/ask", json={"data": data}).json()["event_id"]
        events = re.findall(r"^event: (\w+)\ndata: (.*)$", client.get(f"/gradio_api/call/ask/{event_id}").text, re.M)
    return f"{events[-1][0]}: {events[-1][1]}" if events else "no event"


def test_asks_flow_past_generations_that_hold_and_queue_in_the_llm_group(index: Index, settings: Settings, tmp_path: Path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS), "RAGBOT_DATA_DIR": str(tmp_path / "data"),
           "RAGBOT_ENGINE": "llm", "RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_LLM_CONCURRENCY": "1"}  # fmt: skip
    gate = tmp_path / "gate"
    gate.mkdir()
    with gated_server(env, gate) as url, sync_playwright() as pw:
        browser = launch(pw)
        pages = [browser.new_page(viewport={"width": 1280, "height": 900}) for _ in range(PAGES)]
        for page in pages:
            page.goto(url)
            page.get_by_label("Question").fill(QUESTION)
            page.get_by_role("button", name="Ask", exact=True).click()
        pending = f"() => !![...document.querySelectorAll(\"[data-testid='bot']\")].pop()?.innerText.includes('{CHECKING}')"
        for n, page in enumerate(pages):  # every page's quotes are shown: no page event is left in the ask group
            try:
                page.wait_for_function(pending, timeout=180_000)
            except PlaywrightTimeout:
                pytest.fail(f"page {n + 1}'s Ask showed no quotes in 180 s: held up behind the other pages' generations?")
        started = lambda: len(list(gate.glob("running-*")))  # noqa: E731
        until(lambda: started() + _waiting(url) == PAGES, "every page's generation started or queued")
        assert started() == 1 and _metric(url, "ragbot_queue_waiting", group=LLM_GROUP, via="page") == PAGES - 1, "one at a time"
        assert _metric(url, "ragbot_queue_running", group=LLM_GROUP) == 1

        params = httpx.get(f"{url}gradio_api/info", timeout=30).json()["named_endpoints"]["/ask"]["parameters"]
        known = {"history": [], "top_k": 10, "briefs": sorted(index.documents)}
        asks = [[f"{QUESTION} ({i})" if p["parameter_name"] == "question" else known.get(p["parameter_name"], p.get("parameter_default"))
                 for p in params] for i in range(3 * ASK_LIMIT)]  # fmt: skip
        with ThreadPoolExecutor(2 * ASK_LIMIT) as pool:
            answers = list(pool.map(lambda data: _ask(url, data), asks))
        assert all(a.startswith("complete: ") and "90 per cent" in a for a in answers), answers[:2]
        assert started() == 1 and _metric(url, "ragbot_queue_waiting", group=LLM_GROUP, via="page") == PAGES - 1
        assert all(CHECKING in page.locator("[data-testid='bot']").last.inner_text() for page in pages), "each page's answer is pending"

        (gate / "release").touch()  # every generation may end now, one after another
        for page in pages:
            page.wait_for_function(f"() => !({pending})()", timeout=300_000)
        assert started() == PAGES
        browser.close()
