"""`ragbot eval`: QA sets through the same pipeline a user gets (one or both engines, the tutorial baseline, external
systems), two runs compared with intervals, the judge re-calibrated on your own set, and QA items drafted for review."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ragbot.cli.common import EXIT_ERROR, index_option, settings_of, show_progress
from ragbot.errors import RagbotError

SettingsFor = Any  # an engine name (None: the configured one) -> Settings as the command resolves them


def add_parser(commands: Any) -> None:
    from ragbot.evaluation import external

    s = commands.add_parser(
        "eval",
        parents=[index_option()],
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
        "--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"), help="print two runs side by side, with intervals, and the flips"
    )
    s.add_argument(
        "--engine", nargs="+", choices=["extractive", "llm"], metavar="E",
        help="engine(s) to evaluate: extractive, llm, or both in one run (default: the engine setting)",
    )  # fmt: skip
    external.add_options(s)
    s.add_argument(
        "--calibrate", nargs="?", const=True, type=Path, metavar="RUN",
        help="re-choose the judge's thresholds on this QA set (odd half chooses, even half reports); without RUN, first record "
        "an LLM-engine run with the judge deciding nothing (into --out)",
    )  # fmt: skip
    s.add_argument("--save", action="store_true", help="with --calibrate: write the chosen settings to the settings file")
    s.add_argument("--draft", type=int, metavar="N", help="draft N QA items from the library for review, into --out FILE")


def run(args: argparse.Namespace) -> int:
    """The eval command; returns the exit status (1 when dataset lines were skipped)."""

    def settings_for(engine: str | None) -> Any:
        return settings_of(argparse.Namespace(**{**vars(args), "engine": engine}))

    progress, config_file = show_progress(), args.config
    _check(args)
    if args.compare:
        from ragbot.evaluation.comparison import compare

        print(compare(*args.compare))
        return 0
    if args.draft is not None:
        return _draft(args, settings_for)
    if args.calibrate is not None:
        return _calibrate(args, settings_for, progress, config_file)
    return _run(args, settings_for, progress)


def _check(args: argparse.Namespace) -> None:
    """Options that do not go together, as one line."""
    modes = [name for name, on in (("--compare", args.compare), ("--calibrate", args.calibrate is not None),
                                   ("--draft", args.draft is not None)) if on]  # fmt: skip
    if len(modes) > 1:
        raise RagbotError(f"{' and '.join(modes)} are separate modes: give one")
    if args.save and args.calibrate is None:
        raise RagbotError("--save goes with --calibrate (it writes the chosen thresholds)")
    if args.draft is not None and args.out is None:
        raise RagbotError("--draft N needs --out FILE (the QA lines to review)")
    if args.draft is not None:
        from ragbot.evaluation.draft import MAX_DRAFTS

        if not 1 <= args.draft <= MAX_DRAFTS:  # before any model loads
            raise RagbotError(f"--draft takes 1 to {MAX_DRAFTS} questions, not {args.draft}")
    if modes and (args.systems or args.baseline):
        raise RagbotError(f"--system and --baseline are for an evaluation run, not {modes[0]}")
    if args.calibrate is not None and args.engine and args.engine != ["llm"]:
        raise RagbotError("--calibrate chooses the LLM engine's judge thresholds: leave out --engine (or give llm)")


def _load_datasets(args: argparse.Namespace, settings: Any) -> Any:
    from ragbot.evaluation.dataset import combine, load_dataset, unreviewed_warning

    dataset = combine([load_dataset(path, settings.corpus_dir, settings.index_dir) for path in args.dataset or [settings.eval_dataset]])
    for error in dataset.errors:
        print(f"ragbot: skipped {error}", file=sys.stderr)
    warning = unreviewed_warning(dataset)
    if warning:
        print(f"ragbot: warning: {warning}", file=sys.stderr)
    return dataset


def _run(args: argparse.Namespace, settings_for: SettingsFor, progress: bool) -> int:
    """ragbot's engine(s), the baseline and external systems on the same questions: one folder each and one table."""
    from ragbot.chain import Pipeline
    from ragbot.evaluation.suite import evaluate_one, evaluate_subjects, pipeline_subject, system_subject
    from ragbot.question import check_k

    check_k(args.k, "-k")
    engines = list(dict.fromkeys(args.engine or [None]))
    retriever = {"retriever": args.retriever} if args.retriever else {}
    first = settings_for(engines[0]).model_copy(update=retriever)
    dataset = _load_datasets(args, first)
    pipeline = Pipeline.load(first)
    subjects = []
    for engine in engines:
        name = engine or first.engine
        subjects.append(pipeline_subject(f"{first.retriever}-{name}", pipeline, args.k, name))
    if args.baseline:
        from ragbot.evaluation.baseline import baseline_pipeline

        subjects.append(pipeline_subject(f"baseline-{args.baseline}", baseline_pipeline(args.baseline, first), args.k))
    subjects += [system_subject(system, first.corpus_dir) for system in args.systems or []]
    several = len(subjects) > 1
    if several:
        for s in subjects[: len(engines)]:
            s.label = f"ragbot-{s.label}"
    others = [s.label.removeprefix("baseline-").removeprefix("system-") for s in subjects[len(engines) :]]
    name = "+".join(s.label.removeprefix("ragbot-") for s in subjects[: len(engines)]) + "".join(f"-vs-{o}" for o in others)
    out = args.out or Path("eval/runs") / f"{datetime.now():%Y%m%d-%H%M%S}-{name}"
    if several:
        print(evaluate_subjects(subjects, dataset, out, progress=progress))
        print(f"wrote {out}/comparison.md", file=sys.stderr)
    else:
        evaluate_one(subjects[0], dataset, out, progress, print)
    return EXIT_ERROR if dataset.errors else 0


def _calibrate(args: argparse.Namespace, settings_for: SettingsFor, progress: bool, config_file: Path | None) -> int:
    """Record (unless given a run), replay on the odd half, print before and after, and save only with --save."""
    from ragbot.evaluation import calibrate as cal
    from ragbot.settings import CONFIG_FILE, ENV_PREFIX, Settings
    from ragbot.settings_file import save_settings

    current = settings_for("llm")
    run_dir = args.calibrate if isinstance(args.calibrate, Path) else None
    skipped = 0
    if run_dir is None:
        from ragbot.chain import Pipeline
        from ragbot.evaluation.suite import evaluate

        recording = current.model_copy(update={**cal.RECORDING, "passage_read_all": True})  # every reading, for the replay
        dataset = _load_datasets(args, recording)
        skipped = len(dataset.errors)
        run_dir = args.out or Path("eval/runs") / f"{datetime.now():%Y%m%d-%H%M%S}-calibrate-record"
        print(f"recording {len(dataset.items)} questions with the LLM engine, the judge deciding nothing, into {run_dir}/",
              file=sys.stderr)  # fmt: skip
        evaluate(Pipeline.load(recording), dataset, run_dir, "calibrate-record", k=args.k, progress=progress)
    elif args.dataset or args.out:
        raise RagbotError("--calibrate RUN replays that run's own questions: leave out --dataset and --out")
    result = cal.calibrate(cal.load_recording(run_dir, current.corpus_dir), current.to_dict())
    print(result.text())
    values = result.choice.settings()
    path = config_file or Path(os.environ.get(ENV_PREFIX + "CONFIG", CONFIG_FILE))
    if not args.save:
        print(f"\nnothing saved: add --save to write these four settings to {path}", file=sys.stderr)
        return EXIT_ERROR if skipped else 0
    save_settings(path, values, cal.saved_comment(result.recording.dataset), check=lambda v: Settings.from_dict(v))
    shown = ", ".join(f"{k} = {v}" for k, v in values.items())
    print(f"\nwrote to {path}: {shown} (every other line kept)", file=sys.stderr)
    overridden = [ENV_PREFIX + k.upper() for k in values if ENV_PREFIX + k.upper() in os.environ]
    if overridden:
        print(f"ragbot: warning: {', '.join(overridden)} in the environment still override(s) {path}", file=sys.stderr)
    return EXIT_ERROR if skipped else 0


def _draft(args: argparse.Namespace, settings_for: SettingsFor) -> int:
    """Draft QA items with the quiz generator's validated facts; the LLM words them when it can."""
    from ragbot.chain import Pipeline
    from ragbot.evaluation import draft as drafting
    from ragbot.evaluation.dataset import load_dataset

    settings = settings_for(None)
    pipeline = Pipeline.load(settings)
    model = None
    try:
        from ragbot.engines.chat_model import chat_model

        model = chat_model(settings, max_tokens=60)
    except RagbotError as exc:
        print(f"ragbot: no LLM to word the questions ({exc}); they stay fill-in-the-blanks", file=sys.stderr)
    drafts = drafting.draft(pipeline, args.draft, model=model)
    drafting.write(args.out, drafts.items)
    checked = load_dataset(args.out, settings.corpus_dir, settings.index_dir)
    print(f"wrote {args.out}: {len(drafts.items)} drafts ({drafts.reworded} worded by the LLM, the rest fill-in-the-blanks), "
          f"{len(checked.items)} pass the dataset checks; every one is \"reviewed\": false until a person checks it",
          file=sys.stderr)  # fmt: skip
    if len(drafts.items) < args.draft:
        print(f"ragbot: only {len(drafts.items)} of {args.draft} could be drafted from this library", file=sys.stderr)
    return 0
