"""`ragbot bench`: index build time, warm ask latency, cold `ragbot ask` wall time and peak memory."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.evaluation.metrics import percentile
from ragbot.files import read_lines
from ragbot.index.writer import build_index
from ragbot.models.embedder import embedder_for, query_encoder_for
from ragbot.settings import Settings

# A small parent for each cold run: a child forked from the (large) bench process would report the
# bench's own pages as its peak memory; forked from this wrapper, it reports just its own.
_COLD_WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(f"maxrss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def _questions(path: Path) -> list[str]:
    try:
        return [json.loads(line)["question"] for line in read_lines(path, "questions file") if line.strip()]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise RagbotError(f"{path} must hold one JSON object with a question field per line") from None


def run_bench(settings: Settings, questions_file: Path, cold_runs: int = 3) -> dict[str, float]:
    questions = _questions(questions_file)
    figures: dict[str, float] = {}
    start = time.perf_counter()
    embedder = embedder_for(settings)
    figures["model_load_s"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="ragbot-bench-") as tmp:
        bench_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
        start = time.perf_counter()
        index, _ = build_index(bench_settings, embedder, progress=False, log=lambda _msg: None)
        figures["index_build_s"] = time.perf_counter() - start
        figures["passages"] = len(index.passages)

        pipeline = Pipeline(bench_settings, index, query_encoder_for(settings))
        for q in questions[:3]:
            pipeline.ask(q)  # warm-up
        timings = [pipeline.ask(q).timings_ms for q in questions]
        for stage in ("retrieve", "answer", "total"):
            values = [t[stage] for t in timings]
            figures[f"warm_{stage}_p50_ms"] = statistics.median(values)
            figures[f"warm_{stage}_p95_ms"] = percentile(values, 0.95)
        figures["warm_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        # Cold: a fresh `ragbot ask` process against the index just built.
        cold, cold_rss = [], []
        env = {**os.environ, "RAGBOT_INDEX_DIR": str(bench_settings.index_dir), "RAGBOT_CORPUS_DIR": str(settings.corpus_dir)}
        cmd = [sys.executable, "-m", "ragbot.cli"]  # this interpreter's ragbot, not whichever is first on PATH
        for i in range(cold_runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", _COLD_WRAPPER, *cmd, "ask", questions[i % len(questions)]], env=env, capture_output=True, text=True
            )
            cold.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise RagbotError(f"cold `ragbot ask` failed: {proc.stderr.strip().splitlines()[-2:]}")
            cold_rss.append(int(proc.stderr.rsplit("maxrss_kb=", 1)[1]) / 1024)
        figures["cold_ask_median_s"] = statistics.median(cold)
        figures["cold_ask_min_s"] = min(cold)
        figures["cold_ask_max_s"] = max(cold)
        figures["cold_peak_rss_mb"] = max(cold_rss)

    print(f"ragbot bench: {len(questions)} questions from {questions_file}, {figures['passages']:.0f} passages, {os.cpu_count()} CPUs")
    print(f"  model load           {figures['model_load_s']:.2f} s")
    print(f"  index build          {figures['index_build_s']:.2f} s (full corpus, embedder loaded)")
    for stage in ("retrieve", "answer", "total"):
        print(f"  warm ask {stage:<9}   p50 {figures[f'warm_{stage}_p50_ms']:7.1f} ms   p95 {figures[f'warm_{stage}_p95_ms']:7.1f} ms")
    print(
        f"  cold `ragbot ask`    median {figures['cold_ask_median_s']:.2f} s "
        f"(min {figures['cold_ask_min_s']:.2f}, max {figures['cold_ask_max_s']:.2f}, {cold_runs} runs)"
    )
    print(
        f"  peak memory          {figures['warm_peak_rss_mb']:.0f} MB bench process (embedder + index build), "
        f"{figures['cold_peak_rss_mb']:.0f} MB `ragbot ask`"
    )
    return figures
