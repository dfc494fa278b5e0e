"""The Evaluation tab (editors only): run a QA set through the same pipeline as the chat; metrics, plots and the report;
compare two runs with bootstrap intervals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ragbot.app.live import LivePipeline
from ragbot.app.roles import EDITORS_ONLY, Users, takes_request, username
from ragbot.errors import RagbotError
from ragbot.evaluation.dataset import load_dataset, unreviewed_warning
from ragbot.evaluation.report import DIFFERENCE_HEADERS, difference_rows, differences, list_runs, metrics_table
from ragbot.evaluation.risk_coverage import PLOT as RISK_PLOT
from ragbot.evaluation.suite import evaluate as evaluate_dataset

ENGINES = [("extractive: instant quotes", "extractive"), ("llm: checked by the model, then a written answer", "llm")]


def build_evaluation_tab(live: LivePipeline, users: Users) -> None:
    """The tab's components and events, inside an open gr.Tab; only editors may run or compare evaluations."""
    import gradio as gr

    def runs_root() -> Path:
        return live.pipeline.settings.data_dir / "eval"

    def run_choices() -> list[tuple[str, str]]:
        return [(label, str(folder)) for label, folder in list_runs(runs_root())]

    @takes_request
    def evaluate(path: str | None, engine: str | None, request: Any, progress: Any = gr.Progress(track_tqdm=True)) -> tuple[Any, ...]:  # noqa: B008
        if not users.can_edit(username(request)):
            return f"⚠️ {EDITORS_ONLY}", None, None, None, None, gr.update(value=None, visible=False), None, gr.update(), gr.update()
        current = live.with_engine(engine)
        dataset_path = Path(path) if path else current.settings.eval_dataset
        try:
            dataset = load_dataset(dataset_path, current.settings.corpus_dir)
        except RagbotError as exc:
            return f"⚠️ {exc}", None, None, None, None, gr.update(value=None, visible=False), None, gr.update(), gr.update()
        out = runs_root() / f"{datetime.now():%Y%m%d-%H%M%S}-page-{current.settings.engine}"
        summary = evaluate_dataset(current, dataset, out, f"page-{current.settings.engine}", progress=True, echo=lambda _m: None)
        headers, rows = metrics_table(summary)
        skipped = f"; {len(dataset.errors)} lines skipped: " + "; ".join(dataset.errors[:3]) if dataset.errors else ""
        drafts = f". ⚠️ {unreviewed_warning(dataset)}" if unreviewed_warning(dataset) else ""
        status = f"Evaluated {summary['overall']['questions']} questions from {dataset_path.name}{skipped}{drafts}"
        table = {"headers": headers, "data": rows}
        files = [str(out / name) for name in ("report.md", "metrics.json", "results.jsonl")]
        risk = out / RISK_PLOT
        risk_update = gr.update(value=str(risk), visible=True) if risk.is_file() else gr.update(value=None, visible=False)
        choices = run_choices()
        previous = choices[1][1] if len(choices) > 1 else None
        return (status, table, str(out / "metrics_by_type.png"), str(out / "first_rank.png"), str(out / "latency.png"), risk_update,
                files, gr.update(choices=choices, value=previous), gr.update(choices=choices, value=str(out)))  # fmt: skip

    @takes_request
    def compare_runs(a: str | None, b: str | None, request: Any) -> tuple[Any, ...]:
        if not users.can_edit(username(request)):
            return f"⚠️ {EDITORS_ONLY}", None, ""
        allowed = {folder for _, folder in run_choices()}
        if not a or not b or a not in allowed or b not in allowed:
            return "⚠️ Choose two evaluation runs (A and B) from the lists.", None, ""
        try:
            c = differences(Path(a), Path(b))
        except RagbotError as exc:
            return f"⚠️ {exc}", None, ""
        n = len(c.common)
        status = (f"B − A on the {n} questions both runs answered, with paired bootstrap 95% intervals (1,000 resamples); "
                  "an interval that includes 0 is a difference these questions cannot tell from noise.")  # fmt: skip
        flips = []
        for what, key in (("retrieval", "hit@1"), ("answer", "key_fact_recall")):
            d = next((d for d in c.diffs if d.metric == key), None)
            if d is not None and d.higher is not None:
                flips.append(f"{what} ({key}): {d.higher} questions higher in B, {d.lower} lower")
        return status, {"headers": DIFFERENCE_HEADERS, "data": difference_rows(c.diffs)}, "Flipped: " + "; ".join(flips) if flips else ""

    gr.Markdown(
        "Run a QA set through the same pipeline as the chat: one JSON object a line with `id`, `question`, `type`, "
        "`answer`, `key_facts` and `evidence` (see docs/evaluation.md). Leave the file empty to run the shipped set."
    )
    with gr.Row():
        dataset_file = gr.File(label="QA set (.jsonl)", file_types=[".jsonl"], type="filepath", elem_id="rb-eval-file")
        engine = gr.Radio(ENGINES, value=live.pipeline.settings.engine, label="Engine to evaluate", elem_id="rb-eval-engine")
        run_eval = gr.Button("Run evaluation", variant="primary")
    eval_status = gr.Markdown("", elem_id="rb-eval-status")
    eval_table = gr.Dataframe(headers=["metric", "all"], interactive=False, elem_id="rb-eval-table")
    with gr.Row():
        by_type_plot = gr.Image(label="Metrics by question type", type="filepath")
        rank_plot = gr.Image(label="Rank of the first relevant passage", type="filepath")
        latency_plot = gr.Image(label="Latency", type="filepath")
    risk_plot = gr.Image(label="Risk–coverage (LLM engine): precision of answered and wrong answers, along the judge's threshold",
                         type="filepath", visible=False, elem_id="rb-eval-risk")  # fmt: skip
    eval_files = gr.File(label="Download the report", file_count="multiple", elem_id="rb-eval-files")
    gr.Markdown("### Compare two runs\nEvery headline metric of run B against run A, with its 95% interval (runs made on this page).")
    with gr.Row():
        run_a = gr.Dropdown(choices=run_choices(), label="Run A", elem_id="rb-eval-run-a")
        run_b = gr.Dropdown(choices=run_choices(), label="Run B", elem_id="rb-eval-run-b")
        refresh = gr.Button("Refresh the lists", size="sm")
        compare_button = gr.Button("Compare")
    compare_status = gr.Markdown("", elem_id="rb-eval-compare-status")
    compare_table = gr.Dataframe(headers=DIFFERENCE_HEADERS, interactive=False, elem_id="rb-eval-compare")
    compare_flips = gr.Markdown("", elem_id="rb-eval-flips")
    run_eval.click(
        evaluate,
        [dataset_file, engine],
        [eval_status, eval_table, by_type_plot, rank_plot, latency_plot, risk_plot, eval_files, run_a, run_b],
        api_name=False,
        concurrency_limit=1,
    )
    compare_button.click(compare_runs, [run_a, run_b], [compare_status, compare_table, compare_flips], api_name=False)

    @takes_request
    def refresh_runs(request: Any) -> tuple[Any, Any]:
        if not users.can_edit(username(request)):
            return gr.update(), gr.update()
        choices = run_choices()
        return gr.update(choices=choices), gr.update(choices=choices)

    refresh.click(refresh_runs, None, [run_a, run_b], api_name=False)
