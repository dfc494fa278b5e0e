"""The evaluation bench: datasets, metrics, the runner, reports and comparisons, and the naive baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.evaluation.dataset import Dataset
from ragbot.evaluation.report import compare, summarize_run
from ragbot.evaluation.runner import run


def evaluate(
    pipeline: Pipeline,
    dataset: Dataset,
    out_dir: Path,
    label: str,
    k: int = 10,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run a dataset through the pipeline and write results.jsonl, metrics.json, report.md and plots; returns the summary."""
    records = run(pipeline, dataset.items, out_dir, k=k, progress=progress)
    config = {
        "label": label,
        "dataset": str(dataset.path),
        "k": k,
        "settings": pipeline.settings.to_dict(),
        "skipped_lines": dataset.errors,
    }
    return summarize_run(out_dir, config, records, echo)


def evaluate_with_baseline(
    pipeline: Pipeline,
    baseline: Pipeline,
    dataset: Dataset,
    out_dir: Path,
    labels: tuple[str, str],
    k: int = 10,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> str:
    """ragbot and a baseline on the same questions, in one run: out_dir/<label>/ each, and comparison.md side by side."""
    for label, subject in zip(labels, (pipeline, baseline), strict=True):
        echo(f"{label}:")
        evaluate(subject, dataset, out_dir / label, label, k=k, progress=progress, echo=echo)
    text = compare(out_dir / labels[1], out_dir / labels[0])
    (out_dir / "comparison.md").write_text(f"# {labels[0]} against {labels[1]}\n\n```\n{text}\n```\n", encoding="utf-8")
    return text
