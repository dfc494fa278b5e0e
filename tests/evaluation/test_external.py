"""External systems in `ragbot eval`: ragbot's own /v1 served by `ragbot serve`, and a bare llama.cpp server with SmolLM2,
both real servers on loopback, in one run with ragbot's engines and the tutorial chain."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragbot.evaluation.external import SourceLocator, parse_system, read_reply
from ragbot.evaluation.metrics import Span
from ragbot.models.llm_file import resolve_llm_path

from ..conftest import CORPUS, ROOT, running_server
from ..test_cli import assert_one_line_error, ragbot

# Each outcome of the instant engine on these (tests/evaluation/test_runner.py worked them out by hand): correct, partial,
# an unanswerable question answered, an unanswerable one abstained.
PICKED = ("q002", "q011", "q086", "q091")
PLUMBING = {"RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_LLM_MAX_TOKENS": "40", "RAGBOT_JUDGE_ABSTAIN_BELOW": "0",
            "RAGBOT_JUDGE_ANSWER_FROM": "0", "RAGBOT_CLAIM_THRESHOLD": "0",
            "RAGBOT_PASSAGE_ANSWER_FROM": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = [
        line for line in (ROOT / "eval" / "briefs_qa.jsonl").read_text(encoding="utf-8").splitlines() if json.loads(line)["id"] in PICKED
    ]
    path = tmp_path_factory.mktemp("external") / "four.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ragbot_server(index, settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`ragbot serve` (the instant engine) on the test index: its /v1 is the external system."""
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS),
           "RAGBOT_DATA_DIR": str(tmp_path_factory.mktemp("served"))}  # fmt: skip
    with running_server(env) as url:
        yield url + "v1"


@pytest.fixture(scope="module")
def bare_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """llama.cpp's own OpenAI-compatible server with SmolLM2 and an API key, as an operator would run one: (base URL, key)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(resolve_llm_path("smollm2-135m", tmp_path_factory.mktemp("models")))
    params.n_ctx, params.n_predict, params.port = 2048, 60, 0  # answers of at most 60 tokens
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.model_alias, params.api_keys, params.verbosity = {"smol"}, ["bare-key"], -1
    server = xllamacpp.Server(params)
    yield f"{server.listening_address}/v1", "bare-key"
    del server


@pytest.mark.timeout(1800)  # its subprocess alone may take 900 s
def test_every_system_in_one_run_and_one_table(four: Path, ragbot_server: str, bare_llm: tuple[str, str], index, settings, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Answer in one short sentence. If you do not know, say that you don't know.\n", encoding="utf-8")
    out = tmp_path / "run"
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "BARE_KEY": bare_llm[1], **PLUMBING}
    proc = ragbot("eval", "--dataset", str(four), "--out", str(out), "--engine", "extractive", "llm", "--baseline", "naive-llm",
                  "--system", f"ragbot={ragbot_server}", "--system", f"bare={bare_llm[0]}", "--api-key-env", "BARE_KEY",
                  "--system-prompt", str(prompt), cwd=ROOT, env=env, timeout=900)  # fmt: skip
    assert proc.returncode == 0 and "error:" not in proc.stderr, proc.stderr
    labels = ["ragbot-hybrid-extractive", "ragbot-hybrid-llm", "baseline-naive-llm", "system-ragbot", "system-bare"]
    assert {p.name for p in out.iterdir()} == {*labels, "comparison.md"}
    text = (out / "comparison.md").read_text()
    assert text.startswith("# 5 systems on the same questions") and f"| metric | {' | '.join(labels)} |" in text
    table = {row.split(" | ")[0].strip("| "): row.strip("|").split(" | ")[1:] for row in text.split("\n\n")[1].splitlines()[2:]}
    assert table["hit@1"][4].strip() == "n/a" and table["citation_support"][4].strip() == "n/a", "the bare model returns no sources"
    assert all(v.strip() != "n/a" for v in table["wrong_answer_rate"]) and all(v.strip() != "n/a" for v in table["hit@1"][:4])
    sections = re.findall(r"^## ragbot-hybrid-extractive \(B\) against (\S+) \(A\)$", text, re.M)
    assert sections == labels[1:], "each system against the first, with intervals"
    intervals = re.findall(r"\| wrong_answer_rate \| [^|]+ \| [^|]+ \| [^|]+ \| (\[[^]]+\][^|]*) \|", text)
    assert len(intervals) == 4 and all(re.fullmatch(r"\[[-+]\d\.\d{3}, [-+]\d\.\d{3}\]( includes 0)?", i.strip()) for i in intervals)

    def records(label: str) -> dict[str, dict]:
        return {r["id"]: r for r in map(json.loads, (out / label / "results.jsonl").read_text().splitlines())}

    ours, served, bare = records("ragbot-hybrid-extractive"), records("system-ragbot"), records("system-bare")
    assert set(ours) == set(served) == set(bare) == set(PICKED)
    for qid in PICKED:  # the same engine on the same index, asked over HTTP: the same answer, state and scores
        assert served[qid]["status"] == ours[qid]["status"] and served[qid]["answer"].startswith(ours[qid]["answer"])  # + notice
        assert served[qid]["scores"]["outcome"] == ours[qid]["scores"]["outcome"]
        assert served[qid]["scores"].get("citation_support") == ours[qid]["scores"].get("citation_support")
    assert served["q002"]["scores"]["hit@1"] == 1.0, "its cited passage was found in the corpus file"
    for r in bare.values():
        assert r["model"] == "smol" and r["citations"] is None and r["scores"]["latency_ms"] > 0
        assert "hit@1" not in r["scores"] and "citation_support" not in r["scores"]
        assert r["status"] in ("answered", "abstained") and r["scores"]["outcome"] in ("correct", "partial", "wrong", "abstained")
    llm = json.loads((out / "ragbot-hybrid-llm" / "metrics.json").read_text())
    assert llm["risk_coverage"]["score"] == "p_yes" and (out / "ragbot-hybrid-llm" / "risk_coverage.png").is_file()


def test_bad_system_options_are_one_line(four: Path, index, settings, tmp_path):
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir)}
    proc = ragbot("eval", "--model", "m", "--system", "x=http://127.0.0.1:9/v1", cwd=ROOT, env=env)
    assert_one_line_error(proc, "--model goes after the --system it belongs to")
    assert proc.returncode == 2
    proc = ragbot("eval", "--system", "no-url", cwd=ROOT, env=env)
    assert_one_line_error(proc, "--system takes NAME=URL")
    proc = ragbot("eval", "--system", "x=ftp://host/v1", cwd=ROOT, env=env)
    assert_one_line_error(proc, "must start with http:// or https://")
    args = ("eval", "--dataset", str(four), "--out", str(tmp_path / "o"), "--system")
    proc = ragbot(*args, "down=http://127.0.0.1:9/v1", cwd=ROOT, env=env)
    assert_one_line_error(proc, "--system down at http://127.0.0.1:9/v1: cannot connect")
    proc = ragbot(*args, "x=http://127.0.0.1:9/v1", "--api-key-env", "RAGBOT_TEST_UNSET_KEY", cwd=ROOT, env=env)
    assert_one_line_error(proc, "the environment variable RAGBOT_TEST_UNSET_KEY (its API key) is not set")
    proc = ragbot(*args, "x=http://127.0.0.1:9/v1", "--system-prompt", str(tmp_path / "missing.txt"), cwd=ROOT, env=env)
    assert_one_line_error(proc, "cannot read the system prompt")


def test_a_reply_is_read_in_ragbots_terms():
    generic = {"choices": [{"message": {"content": "I don't know; the context does not say."}}]}
    reply = read_reply(generic, 12.0)
    assert reply.status == "abstained" and reply.sources is None and reply.citations is None
    answered = {"choices": [{"message": {"content": "About 90 per cent."}}], "citations": ["https://example.org"]}
    assert read_reply(answered, 1.0).status == "answered" and read_reply(answered, 1.0).sources is None, "URLs are not a known shape"
    ours = {"choices": [{"message": {"content": "The briefs don't say.\n\nClosest evidence (not an answer):\n[1] T — p: “x”"}}],
            "citations": [{"doc_id": "a.txt", "text": "x"}], "ragbot": {"status": "unsure", "confidence": 0.3}}  # fmt: skip
    reply = read_reply(ours, 1.0)
    assert reply.status == "unsure" and reply.confidence == 0.3 and reply.text == "The briefs don't say."
    assert reply.sources == reply.citations == [{"doc_id": "a.txt", "text": "x"}]
    with pytest.raises(ValueError):
        read_reply({"error": "x"}, 1.0)
    assert parse_system("open-webui=http://127.0.0.1:3000/api/v1/").base_url == "http://127.0.0.1:3000/api/v1"


def test_returned_passages_are_found_in_the_corpus_files(index):
    """ragbot's /v1 returns passage text as ragbot indexed it (spacing joined): nearly every passage is found where it is."""
    locator = SourceLocator(CORPUS)
    found = [locator.locate(p.text, p.doc_id) for p in index.passages]
    near = [s for s, p in zip(found, index.passages, strict=True) if s is not None and abs(s.start - p.start) <= 5]
    assert len(near) >= 0.9 * len(index.passages), f"{len(near)} of {len(index.passages)}"
    sentence = "About 90 per cent of South Korea’s energy supplies are shipped via the Malacca Strait and adjacent sea routes."
    span = locator.locate(sentence)
    assert isinstance(span, Span) and span.doc.startswith("2025-07_fulcrum") and span.end - span.start == len(sentence)
    assert locator.locate("A sentence no brief has ever held, about the moon.") is None
