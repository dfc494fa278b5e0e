"""The Evaluation tab (editors only): run a QA set through the same pipeline as the chat; metrics, plots, the risk–coverage
curve and the report; and two runs compared, with paired bootstrap intervals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from ragbot.app.live import LivePipeline
from ragbot.app.roles import EDITORS_ONLY, Users, username
from ragbot.errors import RagbotError
from ragbot.evaluation.comparison import DIFFERENCE_HEADERS, difference_rows, differences, list_runs
from ragbot.evaluation.dataset import load_dataset, unreviewed_warning
from ragbot.evaluation.report import metrics_table
from ragbot.evaluation.risk_coverage import PLOT as RISK_PLOT
from ragbot.evaluation.suite import evaluate as evaluate_dataset

ENGINES = [("extractive: instant quotes", "extractive"), ("llm: checked by the model, then a written answer", "llm")]
NOT_RUN = 9  # the outputs of a refused or failed run


class EvaluationHandlers:
    """Running a QA set and comparing two runs; only editors may."""

    def __init__(self, live: LivePipeline, users: Users) -> None:
        self.live, self.users = live, users

    def runs_root(self) -> Path:
        return self.live.pipeline.settings.data_dir / "eval"

    def run_choices(self) -> list[tuple[str, str]]:
        return [(label, str(folder)) for label, folder in list_runs(self.runs_root())]

    def evaluate(
        self,
        path: str | None,
        engine: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> tuple[Any, ...]:
        if not self.users.can_edit(username(request)):
            return self._not_run(f"⚠️ {EDITORS_ONLY}")
        current = self.live.pipeline
        engine = engine or current.settings.engine
        dataset_path = Path(path) if path else current.settings.eval_dataset
        try:
            dataset = load_dataset(dataset_path, current.settings.corpus_dir, current.settings.index_dir)
        except RagbotError as exc:
            return self._not_run(f"⚠️ {exc}")
        out = self.runs_root() / f"{datetime.now():%Y%m%d-%H%M%S}-page-{engine}"
        summary = evaluate_dataset(current, dataset, out, f"page-{engine}", progress=True, echo=lambda _m: None, engine=engine)
        headers, rows = metrics_table(summary)
        skipped = f"; {len(dataset.errors)} lines skipped: " + "; ".join(dataset.errors[:3]) if dataset.errors else ""
        drafts = f". ⚠️ {unreviewed_warning(dataset)}" if unreviewed_warning(dataset) else ""
        status = f"Evaluated {summary['overall']['questions']} questions from {dataset_path.name}{skipped}{drafts}"
        files = [str(out / name) for name in ("report.md", "metrics.json", "results.jsonl")]
        risk = out / RISK_PLOT
        risk_update = gr.update(value=str(risk), visible=True) if risk.is_file() else gr.update(value=None, visible=False)
        choices = self.run_choices()
        previous = choices[1][1] if len(choices) > 1 else None
        plots = [str(out / name) for name in ("metrics_by_type.png", "first_rank.png", "latency.png")]
        table = {"headers": headers, "data": rows}
        return (
            status,
            table,
            *plots,
            risk_update,
            files,
            gr.update(choices=choices, value=previous),
            gr.update(choices=choices, value=str(out)),
        )

    @staticmethod
    def _not_run(message: str) -> tuple[Any, ...]:
        return message, None, None, None, None, gr.update(value=None, visible=False), None, gr.update(), gr.update()

    def compare_runs(self, a: str | None, b: str | None, request: gr.Request) -> tuple[Any, ...]:
        if not self.users.can_edit(username(request)):
            return f"⚠️ {EDITORS_ONLY}", None, ""
        allowed = {folder for _, folder in self.run_choices()}
        if not a or not b or a not in allowed or b not in allowed:
            return "⚠️ Choose two evaluation runs (A and B) from the lists.", None, ""
        try:
            c = differences(Path(a), Path(b))
        except RagbotError as exc:
            return f"⚠️ {exc}", None, ""
        status = (f"B − A on the {len(c.common)} questions both runs answered, with paired bootstrap 95% intervals (1,000 resamples); "
                  "an interval that includes 0 is a difference these questions cannot tell from noise.")  # fmt: skip
        flips = []
        for what, key in (("retrieval", "hit@1"), ("answer", "key_fact_recall")):
            d = next((d for d in c.diffs if d.metric == key), None)
            if d is not None and d.higher is not None:
                flips.append(f"{what} ({key}): {d.higher} questions higher in B, {d.lower} lower")
        return status, {"headers": DIFFERENCE_HEADERS, "data": difference_rows(c.diffs)}, "Flipped: " + "; ".join(flips) if flips else ""

    def refresh_runs(self, request: gr.Request) -> tuple[Any, Any]:
        if not self.users.can_edit(username(request)):
            return gr.update(), gr.update()
        choices = self.run_choices()
        return gr.update(choices=choices), gr.update(choices=choices)


def build_evaluation_tab(live: LivePipeline, users: Users) -> None:
    """The tab's components and events, inside an open gr.Tab."""
    handlers = EvaluationHandlers(live, users)
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
        run_a = gr.Dropdown(choices=handlers.run_choices(), label="Run A", elem_id="rb-eval-run-a")
        run_b = gr.Dropdown(choices=handlers.run_choices(), label="Run B", elem_id="rb-eval-run-b")
        refresh = gr.Button("Refresh the lists", size="sm")
        compare_button = gr.Button("Compare")
    compare_status = gr.Markdown("", elem_id="rb-eval-compare-status")
    compare_table = gr.Dataframe(headers=DIFFERENCE_HEADERS, interactive=False, elem_id="rb-eval-compare")
    compare_flips = gr.Markdown("", elem_id="rb-eval-flips")
    outputs = [eval_status, eval_table, by_type_plot, rank_plot, latency_plot, risk_plot, eval_files, run_a, run_b]
    run_eval.click(handlers.evaluate, [dataset_file, engine], outputs, api_name=False, concurrency_limit=1)
    compare_button.click(handlers.compare_runs, [run_a, run_b], [compare_status, compare_table, compare_flips], api_name=False)
    refresh.click(handlers.refresh_runs, None, [run_a, run_b], api_name=False)
