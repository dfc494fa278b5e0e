"""Take the README's screenshot from the real app: serve, ask in headless Chromium, capture.

    .venv/bin/python docs/screenshot.py [--question "..."] [--out docs/screenshot.png]

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; uses the index in index/.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("ragbot serve exited before the page came up")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="What are the overall objectives of Korea's defence diplomacy in East Asia?")
    ap.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    ap.add_argument("--engine", default="llm", help="answer engine to show (default llm, as `make run` serves)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "ragbot.cli", "serve", "--port", str(port), "--engine", args.engine]
    server = subprocess.Popen(command, env=os.environ.copy())
    try:
        wait_for(url, server)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1060})
            page.goto(url)
            page.get_by_label("Question").fill(args.question)
            page.get_by_role("button", name="Ask", exact=True).click()
            page.locator(".rb-card").first.wait_for(timeout=60_000)
            page.wait_for_function(  # the written answer (LLM engine) has replaced "Writing an answer…"
                "() => { const b = [...document.querySelectorAll(\"[data-testid='bot']\")].pop();"
                " return b && !b.innerText.includes('Writing'); }",
                timeout=300_000,
            )
            page.locator("#rb-source-pick label").first.click()  # open the first source in its brief
            page.locator("#rb-hit").wait_for(timeout=30_000)
            page.wait_for_timeout(1500)  # the scroll to the passage runs after the viewer renders
            page.evaluate("() => window.scrollTo(0, 0)")  # the brief's own box stays at the passage
            page.wait_for_timeout(500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
        print(f"wrote {args.out}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
