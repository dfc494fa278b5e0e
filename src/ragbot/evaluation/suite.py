"""Systems under evaluation and how they run: ragbot through its pipeline, a baseline, or an external endpoint; one
folder each, and one comparison of them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragbot.evaluation.comparison import write_comparison
from ragbot.evaluation.dataset import Dataset, EvalItem
from ragbot.evaluation.report import summarize_run
from ragbot.evaluation.runner import run

if TYPE_CHECKING:
    from ragbot.chain import Pipeline

Records = list[dict[str, Any]]


@dataclass
class Subject:
    """One system answering the QA set: ragbot with an engine, a baseline, or an external endpoint."""

    label: str
    answer: Callable[[list[EvalItem], Path, bool], Records]  # (items, output folder, progress) -> scored records
    config: dict[str, Any] = field(default_factory=dict)  # what metrics.json records about it (settings, system)


def pipeline_subject(label: str, pipeline: Pipeline, k: int = 10, engine: str | None = None) -> Subject:
    """ragbot (or a baseline built as a Pipeline) answering with ``engine`` (default: its setting) as a user's question would."""
    settings = pipeline.settings.model_copy(update={"engine": engine}) if engine else pipeline.settings
    return Subject(label, lambda items, out, progress: run(pipeline, items, out, k=k, progress=progress, engine=engine),
                   {"k": k, "settings": settings.to_dict()})  # fmt: skip


def system_subject(system: Any, corpus_dir: Path) -> Subject:
    """An OpenAI-compatible endpoint (evaluation.external.System) answering the same questions."""
    from ragbot.evaluation.external import run_system

    described = {"name": system.name, "url": system.base_url, "model": system.model,
                 "system_prompt": str(system.system_prompt) if system.system_prompt else None}  # fmt: skip
    return Subject(system.label, lambda items, out, progress: run_system(system, items, out, corpus_dir, progress), {"system": described})


def evaluate(
    pipeline: Pipeline,
    dataset: Dataset,
    out_dir: Path,
    label: str,
    k: int = 10,
    progress: bool = False,
    echo: Callable[[str], None] = print,
    engine: str | None = None,
) -> dict[str, Any]:
    """Run a dataset through the pipeline and write results.jsonl, metrics.json, report.md and plots; returns the summary."""
    return evaluate_one(pipeline_subject(label, pipeline, k, engine), dataset, out_dir, progress, echo)


def evaluate_one(subject: Subject, dataset: Dataset, out_dir: Path, progress: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    records = subject.answer(dataset.items, out_dir, progress)
    config = {"label": subject.label, "dataset": str(dataset.path), **subject.config, "skipped_lines": dataset.errors}
    return summarize_run(out_dir, config, records, echo)


def evaluate_subjects(
    subjects: list[Subject], dataset: Dataset, out_dir: Path, progress: bool = False, echo: Callable[[str], None] = print
) -> str:
    """Several systems on the same questions in one run: out_dir/<label>/ each, and comparison.md: one table of them
    all, then each against the first with paired bootstrap intervals. Returns comparison.md's text."""
    for subject in subjects:
        echo(f"{subject.label}:")
        evaluate_one(subject, dataset, out_dir / subject.label, progress, echo)
    return write_comparison(out_dir, [s.label for s in subjects])
