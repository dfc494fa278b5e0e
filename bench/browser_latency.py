"""Answer latency as a user sees it: click Ask in headless Chromium until the answer's source cards render.

    .venv/bin/python bench/browser_latency.py [--questions eval/briefs_qa.jsonl] [-n 30]

Serves the index in index/ on a free loopback port; prints the median, p95 and range in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from docs.screenshot import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for

from ragbot.evaluation.metrics import percentile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=Path("eval/briefs_qa.jsonl"))
    ap.add_argument("-n", type=int, default=30, help="questions to ask (default 30)")
    args = ap.parse_args()
    import subprocess

    from playwright.sync_api import sync_playwright

    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()][: args.n]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "RAGBOT_DATA_DIR": os.environ.get("RAGBOT_DATA_DIR", "/tmp/ragbot-bench-data")}
    server = subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--port", str(port)], env=env)
    try:
        wait_for(url, server)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            times = []
            for i, question in enumerate(questions):
                page.get_by_role("button", name="Clear", exact=True).last.click()
                if i:
                    page.locator(".rb-card").first.wait_for(state="detached", timeout=30_000)
                page.get_by_label("Question").fill(question)
                start = time.perf_counter()
                page.get_by_role("button", name="Ask", exact=True).click()
                page.locator(".rb-card").first.wait_for(timeout=60_000)
                times.append((time.perf_counter() - start) * 1000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"{len(times)} questions in the browser: median {statistics.median(times):.0f} ms, p95 {percentile(times, 0.95):.0f} ms, "
          f"min {min(times):.0f} ms, max {max(times):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
