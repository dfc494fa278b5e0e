"""The evaluation bench: datasets, metrics, the runner, reports and comparisons, and the naive baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.evaluation.dataset import Dataset
from ragbot.evaluation.report import summarize_run
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
