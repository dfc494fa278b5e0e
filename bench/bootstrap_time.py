"""How long the paired bootstrap adds to a comparison of two 142-question runs (tests/evaluation/test_bootstrap.py checks its figures).

    .venv/bin/python -m bench.bootstrap_time [--runs 5]      (from the repository root: it uses the test's worse copy)

Builds an index of corpus/ in a temporary folder, runs the instant engine on the 142 shipped questions
(as `ragbot eval` does), makes a worse copy of the run (every third question abstained, answers 1.5 times
slower) and times ``paired`` on the two. Prints one JSON line: the questions, each run's seconds and the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from tests.evaluation.test_bootstrap import worse

from ragbot.chain import Pipeline
from ragbot.evaluation.bootstrap import paired
from ragbot.evaluation.dataset import combine, load_dataset
from ragbot.evaluation.runner import run
from ragbot.index.writer import build_index
from ragbot.models.embedder import embedder_for, query_encoder_for
from ragbot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the 142 questions once, then time the paired bootstrap --runs times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    corpus = ROOT / "corpus"
    with tempfile.TemporaryDirectory(prefix="ragbot-bootstrap-") as tmp:
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        index, _ = build_index(settings, embedder_for(settings), progress=False, log=lambda _m: None)
        pipeline = Pipeline(settings, index, query_encoder_for(settings))
        dataset = combine([load_dataset(ROOT / "eval" / name, corpus) for name in ("briefs_qa.jsonl", "unanswerable_qa.jsonl")])
        records = run(pipeline, dataset.items, Path(tmp) / "run", progress=False)
    other, times = worse(records), []
    for _ in range(args.runs):
        start = time.perf_counter()
        paired(records, other)
        times.append(time.perf_counter() - start)
    print(json.dumps({"questions": len(records), "seconds": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3)}))


if __name__ == "__main__":
    main()
