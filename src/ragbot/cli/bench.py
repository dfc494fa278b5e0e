"""`ragbot bench`: index build time, ask latency and memory on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ragbot.cli.common import settings_of


def add_parser(commands: Any) -> None:
    s = commands.add_parser("bench", help="print index build time, ask latency and memory", description="Benchmark ragbot on this machine.")
    s.add_argument("--questions", type=Path, help="JSONL with a question field (default: the eval_dataset setting)")
    s.add_argument("--runs", type=int, default=3, help="cold-start runs (default 3)")


def run(args: argparse.Namespace) -> int:
    from ragbot.bench import run_bench

    settings = settings_of(args)
    run_bench(settings, args.questions or settings.eval_dataset, cold_runs=args.runs)
    return 0
