"""The chat page: rendering is escaped, and the real server answers through its API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ragbot.app import render_sources
from ragbot.chunking import Passage
from ragbot.citations import Answer, Citation

from .conftest import CORPUS


def test_document_text_is_rendered_escaped():
    text = "Before <script>alert('x')</script> and <b>bold</b> after."
    p = Passage("d#1", "d.txt", "Title <i>", "Sec & co", 0, len(text), 12, text, ((0, len(text)),))
    html = render_sources(Answer("q", "a [1]", False, [Citation(1, p, text, ((7, 34),))], []), {"d.txt": {"date": "2024"}})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</mark>" in html
    assert "Title &lt;i&gt;" in html and "Sec &amp; co" in html


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(index, settings):
    port = _free_port()
    env = {**os.environ, "RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS)}
    proc = subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not come up in 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_page_is_served_on_loopback(server):
    with urllib.request.urlopen(server, timeout=10) as r:
        body = r.read().decode()
    assert r.status == 200 and "ragbot" in body


def test_asking_through_the_page_api_returns_a_cited_answer(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    history, sources, box = client.predict(
        "What share of South Korea's energy supplies passes through the Malacca Strait?", [], api_name="/ask"
    )
    assert box == ""
    assert history[-1]["role"] == "assistant" and "[1]" in str(history[-1]["content"]) and "90 per cent" in str(history[-1]["content"])
    assert "<mark>" in sources and "ASEAN-ROK Security Cooperation in a Dual Contingency" in sources
    history, sources, box = client.predict("", [], api_name="/ask")
    assert "question is empty" in str(history[-1]["content"])
