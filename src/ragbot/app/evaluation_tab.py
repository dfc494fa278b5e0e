"""The Evaluation tab (editors only): run a QA set through the same pipeline as the chat; metrics, plots and the report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ragbot.app.live import LivePipeline
from ragbot.app.roles import EDITORS_ONLY, Users, takes_request, username
from ragbot.errors import RagbotError
from ragbot.evaluation import evaluate as evaluate_dataset
from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.report import metrics_table


def build_evaluation_tab(live: LivePipeline, users: Users) -> None:
    """The tab's components and events, inside an open gr.Tab; only editors may run an evaluation."""
    import gradio as gr

    @takes_request
    def evaluate(path: str | None, request: Any, progress: Any = gr.Progress(track_tqdm=True)) -> tuple[Any, ...]:  # noqa: B008
        current = live.pipeline
        if not users.can_edit(username(request)):
            return f"⚠️ {EDITORS_ONLY}", None, None, None, None, None
        dataset_path = Path(path) if path else current.settings.eval_dataset
        try:
            dataset = load_dataset(dataset_path, current.settings.corpus_dir, current.settings.index_dir)
        except RagbotError as exc:
            return f"⚠️ {exc}", None, None, None, None, None
        out = current.settings.data_dir / "eval" / f"{datetime.now():%Y%m%d-%H%M%S}-page"
        summary = evaluate_dataset(current, dataset, out, "page", progress=True, echo=lambda _m: None)
        headers, rows = metrics_table(summary)
        skipped = f"; {len(dataset.errors)} lines skipped: " + "; ".join(dataset.errors[:3]) if dataset.errors else ""
        status = f"Evaluated {summary['overall']['questions']} questions from {dataset_path.name}{skipped}"
        table = {"headers": headers, "data": rows}
        files = [str(out / name) for name in ("report.md", "metrics.json", "results.jsonl")]
        return status, table, str(out / "metrics_by_type.png"), str(out / "first_rank.png"), str(out / "latency.png"), files

    gr.Markdown(
        "Run a QA set through the same pipeline as the chat: one JSON object a line with `id`, `question`, `type`, "
        "`answer`, `key_facts` and `evidence` (see docs/evaluation.md). Leave the file empty to run the shipped set."
    )
    with gr.Row():
        dataset_file = gr.File(label="QA set (.jsonl)", file_types=[".jsonl"], type="filepath", elem_id="rb-eval-file")
        run_eval = gr.Button("Run evaluation", variant="primary")
    eval_status = gr.Markdown("", elem_id="rb-eval-status")
    eval_table = gr.Dataframe(headers=["metric", "all"], interactive=False, elem_id="rb-eval-table")
    with gr.Row():
        by_type_plot = gr.Image(label="Metrics by question type", type="filepath")
        rank_plot = gr.Image(label="Rank of the first relevant passage", type="filepath")
        latency_plot = gr.Image(label="Latency", type="filepath")
    eval_files = gr.File(label="Download the report", file_count="multiple", elem_id="rb-eval-files")
    run_eval.click(
        evaluate,
        dataset_file,
        [eval_status, eval_table, by_type_plot, rank_plot, latency_plot, eval_files],
        api_name=False,
        concurrency_limit=1,
    )
