"""`ragbot eval` end to end on a small dataset: every output file, the baseline, and --compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.evaluation.comparison import compare
from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.report import summarize_run
from ragbot.evaluation.runner import run

from ..conftest import CORPUS, ROOT
from ..test_cli import ragbot

OUTPUTS = {"results.jsonl", "metrics.json", "report.md", "metrics_by_type.png", "latency.png", "first_rank.png"}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve questions of the shipped set (all types), plus one bad line."""
    lines = (ROOT / "eval" / "briefs_qa.jsonl").read_text(encoding="utf-8").splitlines()
    picked, per_type = [], {}
    for line in lines:
        t = json.loads(line)["type"]
        if per_type.get(t, 0) < 2:
            per_type[t] = per_type.get(t, 0) + 1
            picked.append(line)
    path = tmp_path_factory.mktemp("eval") / "small.jsonl"
    path.write_text("\n".join([*picked, '{"id": "broken", "question": "no other fields"}']) + "\n", encoding="utf-8")
    return path


def test_runner_scores_and_reports(pipeline, small_dataset: Path, tmp_path: Path):
    dataset = load_dataset(small_dataset, CORPUS)
    assert len(dataset.items) == 12 and len(dataset.errors) == 1
    records = run(pipeline, dataset.items, tmp_path, k=10, progress=False)
    assert [json.loads(line)["id"] for line in (tmp_path / "results.jsonl").read_text().splitlines()] == [i.id for i in dataset.items]
    answerable = [r for r in records if r["type"] != "unanswerable"]
    assert all({"hit@1", "mrr", "ndcg@10", "key_fact_recall", "citation_support"} <= set(r["scores"]) for r in answerable)
    summary = summarize_run(
        tmp_path, {"label": "test", "dataset": str(small_dataset), "skipped_lines": dataset.errors}, records, echo=lambda _s: None
    )
    assert {p.name for p in tmp_path.iterdir()} >= OUTPUTS
    overall = summary["overall"]
    assert overall["questions"] == 12 and overall["answerable"] == 10 and overall["unanswerable"] == 2
    assert overall["hit@1"] == pytest.approx(sum(r["scores"]["hit@1"] for r in answerable) / 10)
    assert set(summary["by_type"]) == {"factoid", "numeric", "list", "explanatory", "multi_doc", "unanswerable"}
    report = (tmp_path / "report.md").read_text()
    assert "| hit@1 |" in report and "skipped:" in report and "no other fields" not in report


# Six questions of the shipped set, each outcome worked out by hand from the extractive engine's answer and the gold key facts.
HAND_WORKED = {
    "q002": "correct",  # all three goals quoted
    "q011": "partial",  # "neutral" quoted, "political and historical disputes" not
    "q001": "wrong",  # an answer without "shrimp among whales"
    "q007": "abstained",  # answerable, but below the threshold: a false abstention
    "q086": "wrong",  # unanswerable (no 2023 trade total), answered anyway
    "q091": "abstained",  # unanswerable, abstained
}


def test_the_outcome_table_on_a_hand_worked_set(pipeline, tmp_path: Path):
    items = [i for i in load_dataset(ROOT / "eval" / "briefs_qa.jsonl", CORPUS).items if i.id in HAND_WORKED]
    records = run(pipeline, items, tmp_path, progress=False)
    assert {r["id"]: r["scores"]["outcome"] for r in records} == HAND_WORKED
    overall = summarize_run(tmp_path, {"label": "hand", "dataset": "six"}, records, echo=lambda _s: None)["overall"]
    expected = {"correct_share": 1 / 6, "partial_share": 1 / 6, "wrong_share": 2 / 6, "unsure_share": 0.0, "abstained_share": 2 / 6,
                "wrong_answer_rate": 2 / 6, "wrong_among_answered": 2 / 4, "abstention": 1 / 2, "false_abstention": 1 / 4}  # fmt: skip
    assert {k: overall[k] for k in expected} == pytest.approx(expected)
    report = (tmp_path / "report.md").read_text()
    assert "**Wrong-answer rate 0.333**" in report and "| wrong_answer_rate | 0.333 |" in report
    assert "| false_abstention | 0.250 |" in report and "| abstention | 0.500 |" in report


def test_eval_cli_baseline_side_by_side_and_compare(small_dataset: Path, tmp_path: Path, index, settings):
    ours, both = tmp_path / "ours", tmp_path / "both"
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir)}
    proc = ragbot("eval", "--dataset", str(small_dataset), "--out", str(ours), cwd=ROOT, env=env)
    assert proc.returncode == 1, "a skipped line makes the exit status non-zero"
    assert f"skipped {small_dataset}:13: missing field" in proc.stderr and "Traceback" not in proc.stderr
    assert "error:" not in proc.stderr, proc.stderr
    assert {p.name for p in ours.iterdir()} >= OUTPUTS
    proc = ragbot("eval", "--dataset", str(small_dataset), "--out", str(both), "--baseline", "naive", cwd=ROOT, env=env)
    assert "error:" not in proc.stderr, proc.stderr
    naive = both / "baseline-naive"
    assert {p.name for p in naive.iterdir()} >= OUTPUTS and {p.name for p in (both / "ragbot-hybrid-extractive").iterdir()} >= OUTPUTS
    assert "flipped on answer" in (both / "comparison.md").read_text() and "wrong_answer_rate" in proc.stdout
    assert json.loads((naive / "metrics.json").read_text())["config"]["settings"]["retriever"] == "dense"
    retrieved = [json.loads(line)["retrieved"] for line in (naive / "results.jsonl").read_text().splitlines()]
    assert all("#naive-" in r[0]["passage_id"] for r in retrieved)
    proc = ragbot("eval", "--compare", str(naive), str(ours), cwd=ROOT)
    assert proc.returncode == 0
    assert "hit@1" in proc.stdout and "B - A" in proc.stdout and "flipped on retrieval" in proc.stdout
    text = compare(naive, ours)
    a, b = (json.loads((d / "metrics.json").read_text())["overall"]["mrr"] for d in (naive, ours))
    mrr_line = next(line for line in text.splitlines() if line.startswith("mrr "))
    cells = mrr_line.split()
    assert cells[3] == f"{b - a:+.3f}" and cells[4].startswith("[") and "]" in mrr_line, mrr_line  # B - A, then its 95% interval
    proc = ragbot("eval", "--compare", str(naive), str(tmp_path / "nothing"), cwd=ROOT)
    assert proc.returncode == 1 and "a `ragbot eval` output folder?" in proc.stderr


def test_the_naive_llm_baseline_runs_beside_ragbot_in_one_run(tmp_path: Path, index, settings):
    """The LangChain tutorial RAG with the same LLM (SmolLM2 here, for the plumbing), on the same questions as ragbot."""
    lines = (ROOT / "eval" / "briefs_qa.jsonl").read_text(encoding="utf-8").splitlines()
    dataset = tmp_path / "three.jsonl"
    dataset.write_text("\n".join([lines[0], lines[20], lines[-1]]) + "\n", encoding="utf-8")
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_LLM_MODEL": "smollm2-135m", "RAGBOT_LLM_MAX_TOKENS": "40"}
    out = tmp_path / "out"
    proc = ragbot("eval", "--dataset", str(dataset), "--out", str(out), "--baseline", "naive-llm", cwd=ROOT, env=env)
    assert proc.returncode == 0 and "error:" not in proc.stderr, proc.stderr
    records = [json.loads(line) for line in (out / "baseline-naive-llm" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [json.loads(line)["id"] for line in dataset.read_text().splitlines()]
    for r in records:
        assert r["engine"] == "naive-llm" and r["dropped"] == [] and r["answer"] == r["generated"]
        assert all("#naive-" in h["passage_id"] for h in r["retrieved"][:4])
        assert r["status"] == "abstained" or [c["passage_id"] for c in r["citations"]] == [h["passage_id"] for h in r["retrieved"][:4]]
        assert r["scores"]["first_token_ms"] is not None
    ours = json.loads((out / "ragbot-hybrid-extractive" / "metrics.json").read_text())["overall"]
    theirs = json.loads((out / "baseline-naive-llm" / "metrics.json").read_text())["overall"]
    assert ours["questions"] == theirs["questions"] == 3 and "wrong_answer_rate" in theirs
    text = (out / "comparison.md").read_text()
    assert "baseline-naive-llm" in text and "wrong_answer_rate" in text
