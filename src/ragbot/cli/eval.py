"""`ragbot eval`: QA sets through the same pipeline a user gets; outcomes, metrics, traces and plots; two runs compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ragbot.cli.common import EXIT_ERROR, engine_option, index_option, load_pipeline, settings_of, show_progress


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "eval",
        parents=[index_option(), engine_option()],
        help="run a QA dataset and write metrics, traces and plots",
        description="Run a QA dataset through the same pipeline a user gets; write results.jsonl, metrics.json, report.md and plots.",
    )
    s.add_argument(
        "--dataset", type=Path, nargs="+", help="JSONL dataset(s), run as one (default: the eval_dataset setting, eval/briefs_qa.jsonl)"
    )
    s.add_argument("--out", type=Path, help="output folder (default: eval/runs/<time>-<config>)")
    s.add_argument("--retriever", choices=["dense", "bm25", "hybrid"], help="retriever to evaluate (default: the configured one)")
    s.add_argument("-k", type=int, default=10, help="passages retrieved per question (default 10)")
    s.add_argument(
        "--baseline",
        choices=["naive", "naive-llm"],
        help="also run a tutorial recipe on the same questions, side by side: 1000/200-char chunks, dense, top 4, "
        "answered by ragbot's extractive engine (naive) or by the same LLM with the tutorial prompt (naive-llm)",
    )
    s.add_argument(
        "--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"), help="print two runs side by side and the questions that flipped"
    )


def run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ragbot.evaluation import evaluate, evaluate_with_baseline
    from ragbot.evaluation.dataset import combine, load_dataset
    from ragbot.evaluation.report import compare
    from ragbot.question import check_k

    if args.compare:
        print(compare(*args.compare))
        return 0
    check_k(args.k, "-k")
    settings = settings_of(args).model_copy(update={k: v for k, v in (("retriever", args.retriever),) if v})
    dataset = combine([load_dataset(path, settings.corpus_dir) for path in args.dataset or [settings.eval_dataset]])
    for error in dataset.errors:
        print(f"ragbot: skipped {error}", file=sys.stderr)
    pipeline = load_pipeline(settings)
    label = f"{settings.retriever}-{settings.engine}"
    versus = f"-vs-{args.baseline}" if args.baseline else ""
    out = args.out or Path("eval/runs") / f"{datetime.now():%Y%m%d-%H%M%S}-{label}{versus}"
    if args.baseline:
        from ragbot.evaluation.baseline import baseline_pipeline

        baseline = baseline_pipeline(args.baseline, settings)
        labels = (f"ragbot-{label}", f"baseline-{args.baseline}")
        print(evaluate_with_baseline(pipeline, baseline, dataset, out, labels, k=args.k, progress=show_progress()))
        print(f"wrote {out}/comparison.md", file=sys.stderr)
    else:
        evaluate(pipeline, dataset, out, label, k=args.k, progress=show_progress())
    return EXIT_ERROR if dataset.errors else 0
