"""`ragbot eval` end to end on a small dataset: every output file, the baseline, and --compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.report import compare, summarize_run
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


def test_eval_cli_baseline_and_compare(small_dataset: Path, tmp_path: Path, index, settings):
    ours, naive = tmp_path / "ours", tmp_path / "naive"
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir)}
    proc = ragbot("eval", "--dataset", str(small_dataset), "--out", str(ours), cwd=ROOT, env=env)
    assert proc.returncode == 1, "a skipped line makes the exit status non-zero"
    assert f"skipped {small_dataset}:13: missing field" in proc.stderr and "Traceback" not in proc.stderr
    assert "error:" not in proc.stderr, proc.stderr
    assert {p.name for p in ours.iterdir()} >= OUTPUTS
    proc = ragbot("eval", "--dataset", str(small_dataset), "--out", str(naive), "--baseline", "naive", cwd=ROOT, env=env)
    assert "error:" not in proc.stderr, proc.stderr
    assert {p.name for p in naive.iterdir()} >= OUTPUTS
    assert json.loads((naive / "metrics.json").read_text())["config"]["settings"]["retriever"] == "dense"
    retrieved = [json.loads(line)["retrieved"] for line in (naive / "results.jsonl").read_text().splitlines()]
    assert all("#naive-" in r[0]["passage_id"] for r in retrieved)
    proc = ragbot("eval", "--compare", str(naive), str(ours), cwd=ROOT)
    assert proc.returncode == 0
    assert "hit@1" in proc.stdout and "B - A" in proc.stdout and "flipped on retrieval" in proc.stdout
    text = compare(naive, ours)
    a, b = (json.loads((d / "metrics.json").read_text())["overall"]["mrr"] for d in (naive, ours))
    mrr_line = next(line for line in text.splitlines() if line.startswith("mrr "))
    assert mrr_line.endswith(f"{b - a:+10.3f}")
    proc = ragbot("eval", "--compare", str(naive), str(tmp_path / "nothing"), cwd=ROOT)
    assert proc.returncode == 1 and "a `ragbot eval` output folder?" in proc.stderr
