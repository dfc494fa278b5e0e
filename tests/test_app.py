"""The chat page: rendering is escaped, and the real server answers through its API."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from ragbot.answer import Answer, Citation
from ragbot.app.render import link_markers, render_document, render_sources
from ragbot.app.server import exposure_warning
from ragbot.chunking import Passage

from .conftest import CORPUS, running_server


def test_document_text_is_rendered_escaped():
    text = "Before <script>alert('x')</script> and <b>bold</b> after."
    p = Passage("d#1", "d.txt", "Title <i>", "Sec & co", 0, len(text), 12, text, ((0, len(text)),))
    html = render_sources(Answer("q", "a [1]", "answered", [Citation(1, p, text, ((7, 34),))], []), {"d.txt": {"date": "2024"}})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</mark>" in html
    assert "Title &lt;i&gt;" in html and "Sec &amp; co" in html


def test_document_viewer_escapes_and_marks_the_passage():
    raw = "Intro.\n<script>window.x=1</script> cited part here. Outro."
    p = Passage("d#1", "d.txt", "T", None, 7, 51, 9, "cited", ((0, 5),))
    html = render_document(raw, {"title": "T <b>", "authors": ["A"], "date": "2024"}, p)
    assert "<script>" not in html and "T &lt;b&gt;" in html
    assert "<mark id='rb-hit'>&lt;script&gt;window.x=1&lt;/script&gt; cited part here.</mark>" in html


@pytest.fixture(scope="module")
def server(index, settings, tmp_path_factory):
    env = {
        "RAGBOT_INDEX_DIR": str(settings.index_dir),
        "RAGBOT_CORPUS_DIR": str(CORPUS),
        "RAGBOT_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }
    with running_server(env) as url:
        yield url


def test_page_is_served_on_loopback(server):
    with urllib.request.urlopen(server, timeout=10) as r:
        body = r.read().decode()
    assert r.status == 200 and "ragbot" in body


def test_asking_through_the_page_api_returns_a_cited_answer(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    question = "What share of South Korea's energy supplies passes through the Malacca Strait?"
    history, sources, box, *_ = client.predict(question, [], 10, [], api_name="/ask")
    assert "Choose at least one brief" in str(history[-1]["content"])
    briefs = [p.name for p in CORPUS.glob("*.txt")]
    history, sources, box, *_ = client.predict(question, [], 10, briefs, api_name="/ask")
    assert box == ""
    assert history[-1]["role"] == "assistant" and "[1]" in str(history[-1]["content"]) and "90 per cent" in str(history[-1]["content"])
    assert "<mark>" in sources and "ASEAN-ROK Security Cooperation in a Dual Contingency" in sources
    history, sources, box, *_ = client.predict("", [], 10, briefs, api_name="/ask")
    assert "question is empty" in str(history[-1]["content"])


def test_markers_link_to_their_source_cards():
    assert link_markers("A fact. [1] Another. [2]") == "A fact. [[1]](#rb-source-1) Another. [[2]](#rb-source-2)"


def test_exposure_warning_only_for_other_addresses_without_login():
    assert exposure_warning("127.0.0.1", None) is None
    assert exposure_warning("0.0.0.0", ("u", "p")) is None
    assert "without a login" in exposure_warning("0.0.0.0", None)


def test_login_from_the_environment_guards_the_page(index, settings, tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS), "RAGBOT_DATA_DIR": str(tmp_path),
           "RAGBOT_USER": "analyst", "RAGBOT_PASSWORD": "s3cret-pass"}  # fmt: skip
    with running_server(env) as url:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False).predict("What is the CSP?", [], 10, [], api_name="/ask")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("analyst", "wrong-pass"), verbose=False)
        for path in ("config", "gradio_api/info"):  # the page's wiring is not shown either
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=30)
            assert refused.value.code == 401, path
        client = Client(url, auth=("analyst", "s3cret-pass"), verbose=False)
        history, *_ = client.predict("What is the CSP?", [], 10, [p.name for p in CORPUS.glob("*.txt")], api_name="/ask")
        assert history[-1]["role"] == "assistant"
