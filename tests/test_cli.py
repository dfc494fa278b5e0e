"""The `ragbot` command end to end, in subprocesses, including every bad input a user can give it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragbot.answer import UNSURE_TEXT
from ragbot.index.reader import MANIFEST

from .conftest import copy_small_corpus

QUESTION = "What share of South Korea's energy supplies passes through the Malacca Strait?"


def ragbot(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None, timeout: int = 300):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ragbot.cli", *args], cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a two-brief corpus and its index, built by `ragbot index`."""
    root = tmp_path_factory.mktemp("cli")
    copy_small_corpus(root / "corpus")
    proc = ragbot("index", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "index ready" in proc.stderr and "Traceback" not in proc.stderr
    return root


def test_index_is_idempotent_and_reports_changes(workdir: Path):
    proc = ragbot("index", cwd=workdir)
    assert proc.returncode == 0 and "up to date" in proc.stderr


def test_ask_json_prints_exactly_one_object(workdir: Path):
    proc = ragbot("ask", "--json", "-k", "4", QUESTION, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # fails if stdout holds anything else
    assert result["question"] == QUESTION and not result["abstained"] and result["status"] == "answered"
    assert 0.5 < result["confidence"] <= 1 and result["checks"]["best_score"] > 0
    assert "90 per cent" in result["answer"] and "[1]" in result["answer"]
    assert len(result["retrieved"]) == 4
    assert result["citations"][0]["doc_id"] == "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"


def test_the_three_answer_states_in_the_terminal_and_in_json(workdir: Path):
    answered = ragbot("ask", QUESTION, cwd=workdir)
    assert answered.stdout.startswith("[Answer, confidence 0.") and "Sources:" in answered.stdout
    assert "ragbot: Not checked by the model" in answered.stderr, "the instant engine says it was not checked"
    abstained = ragbot("ask", "What is the recipe for kimchi stew?", cwd=workdir)
    assert abstained.stdout.startswith("[The briefs don't say") and "Closest passages:" in abstained.stdout
    # A judge that is never sure (SmolLM2 for the plumbing): whatever the retrieval score, the answer is "unsure".
    strict = {"RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_JUDGE_ABSTAIN_BELOW": "0", "RAGBOT_JUDGE_ANSWER_FROM": "1"}
    unsure = ragbot("ask", "--engine", "llm", QUESTION, cwd=workdir, env=strict)
    assert unsure.returncode == 0, unsure.stderr
    assert unsure.stdout.startswith("[Unsure (not an answer), confidence") and "Closest evidence (not an answer):" in unsure.stdout
    assert "checked: the passages may not state the answer" in unsure.stderr and "Sources:" not in unsure.stdout
    result = json.loads(ragbot("ask", "--json", "--engine", "llm", QUESTION, cwd=workdir, env=strict).stdout)
    assert result["status"] == "unsure" and result["answer"] == UNSURE_TEXT and not result["abstained"]
    assert 0 <= result["confidence"] <= 1 and result["checks"]["p_yes"] is not None and result["citations"], "the closest evidence"


def test_ask_plain_text_shows_answer_and_sources(workdir: Path):
    proc = ragbot("ask", QUESTION, cwd=workdir)
    assert proc.returncode == 0
    assert "Sources:" in proc.stdout and "[1] ASEAN-ROK Security Cooperation in a Dual Contingency" in proc.stdout


# What a cold extractive `ragbot ask` has no use for: the chat page, the LLM client and server, BM25's builder
# (bm25s, which brings scipy), torch and the ONNX export, the other stores, the plots.
NOT_FOR_AN_EXTRACTIVE_ASK = (
    "gradio", "fastapi", "uvicorn", "langchain_openai", "openai", "xllamacpp", "bm25s", "scipy", "torch", "transformers",
    "sentence_transformers", "onnx", "pymilvus", "psycopg", "matplotlib", "langchain_core",
)  # fmt: skip


def test_a_cold_extractive_ask_imports_only_what_it_runs(workdir: Path):
    """Issue #13: a new process answers in ~2 s because it imports only the path taken (#22: no LangChain for it)."""
    script = (
        "import sys\nfrom ragbot.cli import main\ncode = main(sys.argv[1:])\n"
        "print('modules:', *sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr)\nsys.exit(code)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    command = [sys.executable, "-c", script, "ask", "--engine", "extractive", QUESTION]
    proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("[Answer"), proc.stderr
    imported = set(proc.stderr.splitlines()[-1].removeprefix("modules:").split())
    assert {"onnxruntime", "faiss"} <= imported, "the answer did not run through the embedder and the index"
    unused = sorted(imported & set(NOT_FOR_AN_EXTRACTIVE_ASK))
    assert not unused, f"imported without being used: {unused}"


def test_ask_jsonl_answers_every_line_and_survives_a_bad_one(workdir: Path):
    questions = workdir / "questions.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTION})
        + "\n"
        + "{not json\n"
        + json.dumps({"id": "c", "question": "What is the CSP?"})
        + "\n",
        encoding="utf-8",
    )
    proc = ragbot("ask", "--jsonl", str(questions), cwd=workdir)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, "c"]
    assert "answer" in rows[0] and "answer" in rows[2]
    assert rows[1]["line"] == 2 and "not JSON" in rows[1]["error"]
    assert f"{questions}:2: not JSON" in proc.stderr and proc.returncode == 1


def test_chat_answers_each_line(workdir: Path):
    proc = ragbot("chat", cwd=workdir, stdin=f"{QUESTION}\n\nWhat is the recipe for kimchi stew?\n")
    assert proc.returncode == 0, proc.stderr
    assert "90 per cent" in proc.stdout and "The briefs don't say." in proc.stdout


def test_help_is_available_for_every_command(workdir: Path):
    for command in ([], ["index"], ["ask"], ["chat"], ["serve"], ["bench"]):
        proc = ragbot(*command, "--help", cwd=workdir)
        assert proc.returncode == 0 and "usage: ragbot" in proc.stdout


def _corrupt(index_dir: Path) -> None:
    manifest = json.loads((index_dir / MANIFEST).read_text())
    target = index_dir / next(a["file"] for kind, a in manifest["artifacts"].items() if kind.endswith("/passages"))
    target.write_bytes(target.read_bytes()[:100])


@pytest.mark.parametrize(
    ("name", "args", "prepare", "fragments"),
    [
        ("empty question", ["ask", ""], None, ["question is empty"]),
        ("blank question", ["ask", "   \t "], None, ["question is empty"]),
        ("long question", ["ask", "why " * 400], None, ["limit is 1000"]),
        ("unknown option", ["ask", "--frobnicate", QUESTION], None, ["unrecognized arguments: --frobnicate"]),
        ("unknown command", ["frobnicate"], None, ["invalid choice"]),
        ("bad k", ["ask", "-k", "0", QUESTION], None, ["-k must be between 1 and 100"]),
        ("missing corpus", ["index", "--corpus", "no-such-folder"], None, ["no-such-folder does not exist"]),
        ("empty corpus", ["index", "--corpus", "empty"], lambda d: (d / "empty").mkdir(), ["has no documents"]),
        (
            "non-UTF-8 file",
            ["index", "--corpus", "latin", "--rebuild"],
            lambda d: ((d / "latin").mkdir(), (d / "latin" / "x.txt").write_bytes(b"caf\xe9\n")),
            ["x.txt is not UTF-8"],
        ),
        (
            "binary file",
            ["index", "--corpus", "bin", "--rebuild"],
            lambda d: ((d / "bin").mkdir(), (d / "bin" / "y.txt").write_bytes(b"\x00\x01\x02PK")),
            ["y.txt looks like a binary file"],
        ),
        ("missing index", ["ask", "--index", "no-index", QUESTION], None, ["no index in no-index/", "ragbot index"]),
        ("bad setting", ["ask", QUESTION], lambda d: (d / "ragbot.toml").write_text("top_k = -3\n"), ["invalid setting top_k"]),
    ],
)
def test_bad_input_gets_one_clear_line_and_loses_nothing(workdir: Path, tmp_path: Path, name, args, prepare, fragments):
    case = tmp_path / "case"
    shutil.copytree(workdir, case)
    before = (case / "index" / MANIFEST).read_bytes()
    if prepare:
        prepare(case)
    proc = ragbot(*args, cwd=case)
    assert_one_line_error(proc, *fragments)
    assert (case / "index" / MANIFEST).read_bytes() == before, f"{name}: the existing index was touched"


def test_corrupted_index_file_is_reported_with_the_way_out(workdir: Path, tmp_path: Path):
    case = tmp_path / "case"
    shutil.copytree(workdir, case)
    _corrupt(case / "index")
    proc = ragbot("ask", QUESTION, cwd=case)
    assert_one_line_error(proc, "corrupted", "ragbot index --rebuild")
    assert ragbot("index", "--rebuild", cwd=case).returncode == 0
    assert ragbot("ask", QUESTION, cwd=case).returncode == 0


def test_an_index_built_from_another_folder_answers_from_it_and_is_never_rebuilt_from_corpus(workdir: Path, tmp_path: Path):
    """`ragbot index --corpus DIR --index X` then `ragbot ask --index X`: X keeps DIR's documents, whatever ragbot.toml says."""
    case = tmp_path / "case"
    shutil.copytree(workdir, case)
    (case / "ragbot.toml").write_text('corpus_dir = "corpus"\nindex_dir = "index"\n', encoding="utf-8")
    docs = case / "docs"
    docs.mkdir()
    (docs / "reef.md").write_text("# Reef survey\n\nThe 2026 reef survey counted 412 coral species around Palawan.\n", encoding="utf-8")
    assert ragbot("index", "--corpus", "docs", "--index", "reefs", cwd=case).returncode == 0
    before = (case / "reefs" / MANIFEST).read_bytes()
    proc = ragbot("ask", "--index", "reefs", "--json", "How many coral species did the reef survey count?", cwd=case)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["citations"][0]["doc_id"] == "reef.md" and "412" in answer["answer"]
    assert (case / "reefs" / MANIFEST).read_bytes() == before, "the index was rebuilt"
    proc = ragbot("ask", QUESTION, cwd=case, env={"RAGBOT_INDEX_DIR": "reefs", "RAGBOT_CORPUS_DIR": "corpus"})  # both named: they disagree
    assert_one_line_error(proc, "was built from", "docs/, not corpus/")
    assert (case / "reefs" / MANIFEST).read_bytes() == before
