"""The HTTP API beside the page, against the real server: /api/ask is `ragbot ask --json`, /v1 is OpenAI's chat API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ragbot.app.openai_api import EVIDENCE_HEADING, SOURCES_HEADING

from .conftest import CORPUS, ROOT, running_server
from .test_cli import ragbot

QUESTION = "What share of South Korea's energy supplies passes through the Malacca Strait?"
MALACCA_BRIEF = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"
# SmolLM2 for the LLM plumbing; it is no judge, so every checked question is written (as in tests/test_browser.py)
SMALL_LLM = {"RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_LLM_MAX_TOKENS": "40", "RAGBOT_JUDGE_ABSTAIN_BELOW": "0",
             "RAGBOT_JUDGE_ANSWER_FROM": "0", "RAGBOT_CLAIM_THRESHOLD": "0",
             "RAGBOT_PASSAGE_ANSWER_FROM": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def served(index, settings, tmp_path_factory) -> Any:
    """`ragbot serve` without a login (everyone is an editor), the instant engine by default, SmolLM2 for `engine: llm`."""
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS),
           "RAGBOT_DATA_DIR": str(tmp_path_factory.mktemp("data")), **SMALL_LLM}  # fmt: skip
    with running_server(env) as url, httpx.Client(base_url=url, timeout=300) as client:
        yield client, env


def events(text: str) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event; a block without an event name is "message", and "[DONE]" stays text."""
    parsed = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = "\n".join(line[5:].strip() for line in lines if line.startswith("data:"))
        parsed.append((name, data if data == "[DONE]" else json.loads(data)))
    return parsed


def without_timings(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def test_the_api_answers_with_exactly_the_ask_json_object(served):
    client, env = served
    proc = ragbot("ask", "--json", "-k", "4", QUESTION, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    expected = json.loads(proc.stdout)
    r = client.post("/api/ask", json={"question": QUESTION, "k": 4})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    got = r.json()
    assert without_timings(got) == without_timings(expected)
    assert set(got["timings_ms"]) == set(expected["timings_ms"])
    assert got["status"] == "answered" and "90 per cent" in got["answer"] and got["citations"][0]["doc_id"] == MALACCA_BRIEF


def test_the_stream_ends_with_the_same_object(served):
    client, _ = served
    plain = client.post("/api/ask", json={"question": QUESTION}).json()
    for request in ({"json": {"question": QUESTION, "stream": True}},
                    {"json": {"question": QUESTION}, "headers": {"Accept": "text/event-stream"}}):  # fmt: skip
        r = client.post("/api/ask", **request)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        (name, final), *_ = reversed(events(r.text))
        assert name == "answer" and without_timings(final) == without_timings(plain)


def test_the_llm_stream_sends_the_quotes_the_check_the_text_then_the_answer(served):
    client, _ = served
    r = client.post("/api/ask", json={"question": QUESTION, "engine": "llm", "stream": True})
    assert r.status_code == 200, r.text
    got = events(r.text)
    names = [name for name, _ in got]
    assert names[0] == "preview" and got[0][1]["status"] == "pending" and "90 per cent" in got[0][1]["answer"], names
    assert names[1] == "verdict" and got[1][1]["status"] == "answered" and 0 <= got[1][1]["confidence"] <= 1
    assert "token" in names[2:-1] and all(isinstance(data["text"], str) for name, data in got if name == "token")
    assert names[-1] == "answer" and got[-1][1]["engine"] == "llm" and got[-1][1]["status"] in ("answered", "unsure", "abstained")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 422, "question: Field required"),
        ({"question": 42}, 422, "question: "),
        ({"question": "  "}, 400, "the question is empty"),
        ({"question": "x" * 2000}, 400, "the limit is 1000"),
        ({"question": QUESTION, "k": 0}, 422, "k: "),
        ({"question": QUESTION, "engine": "magic"}, 422, "engine: "),
        ({"question": QUESTION, "docs": []}, 400, "docs is empty"),
        ({"question": QUESTION, "docs": ["no-such-brief.txt"]}, 400, "no such brief: no-such-brief.txt"),
        ({"question": QUESTION, "color": "red"}, 422, "color: "),
    ],
)
def test_bad_input_is_one_line(served, body, status, fragment):
    client, _ = served
    r = client.post("/api/ask", json=body)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert fragment in message and "\n" not in message, message


def test_a_body_that_is_not_json_and_a_huge_one_are_refused(served):
    client, _ = served
    r = client.post("/api/ask", content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "Content-Type: application/json" in r.json()["error"]
    r = client.post("/api/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "the body is not valid JSON"
    r = client.post("/api/ask", json={"question": "x" * 1_100_000})
    assert r.status_code == 413, "the page's Guard covers the API"


def test_briefs_can_be_listed_and_chosen(served):
    client, _ = served
    briefs = client.get("/api/briefs").json()
    assert {b["doc_id"] for b in briefs} == {p.name for p in CORPUS.glob("*.txt")}
    answer = client.post("/api/ask", json={"question": QUESTION, "docs": [MALACCA_BRIEF]}).json()
    assert {h["doc_id"] for h in answer["retrieved"]} == {MALACCA_BRIEF}
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/briefs", "/v1/chat/completions", "/v1/models"} <= set(paths)


def test_an_openai_client_uses_ragbot_as_a_model(served):
    from openai import NotFoundError, OpenAI

    client, _ = served
    sdk = OpenAI(base_url=f"{client.base_url}v1", api_key="unused-without-a-login", max_retries=0)
    assert [m.id for m in sdk.models.list()] == ["ragbot"]
    reply = sdk.chat.completions.create(model="ragbot", messages=[{"role": "system", "content": "Be brief."},
                                                                  {"role": "user", "content": QUESTION}])  # fmt: skip
    content = reply.choices[0].message.content
    assert "90 per cent" in content and "[1]" in content
    assert f"\n\n{SOURCES_HEADING}\n[1] ASEAN-ROK Security Cooperation in a Dual Contingency — {MALACCA_BRIEF}#" in content
    extra = reply.model_extra or {}
    assert extra["citations"][0]["doc_id"] == MALACCA_BRIEF and "90 per cent" in extra["citations"][0]["quote"]
    assert extra["ragbot"]["status"] == "answered"

    chunks = list(sdk.chat.completions.create(model="ragbot", messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[-1].choices[0].finish_reason == "stop" and (chunks[-1].model_extra or {})["citations"] == extra["citations"]

    with pytest.raises(NotFoundError):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


def test_the_raw_openai_stream_ends_with_done_and_an_unsure_answer_says_so(served):
    client, _ = served
    kimchi = [{"role": "user", "content": "What is the recipe for kimchi stew?"}]
    r = client.post("/v1/chat/completions", json={"model": "ragbot", "stream": True, "messages": kimchi})
    got = events(r.text)
    assert got[-1] == ("message", "[DONE]") and got[0][1]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(data["choices"][0]["delta"].get("content", "") for _, data in got[:-1])
    assert text.startswith("The briefs don't say.") and SOURCES_HEADING not in text and EVIDENCE_HEADING not in text
    assert got[-2][1]["ragbot"]["status"] == "abstained"


def test_a_follow_up_reads_the_earlier_turns(served):
    client, _ = served
    first = client.post("/v1/chat/completions", json={"model": "ragbot", "messages": [{"role": "user", "content": QUESTION}]}).json()
    messages = [{"role": "user", "content": QUESTION}, first["choices"][0]["message"], {"role": "user", "content": "And what about Japan?"}]
    second = client.post("/v1/chat/completions", json={"model": "ragbot", "messages": messages}).json()
    assert QUESTION in second["ragbot"]["standalone_question"]
    r = client.post("/v1/chat/completions", json={"model": "ragbot", "messages": messages[:2]})
    assert r.status_code == 400 and r.json()["error"]["message"] == "the last message must be the user's question"
