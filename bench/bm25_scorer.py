"""BM25 at N passages: ragbot's numpy scorer of bm25s' saved files against bm25s' own get_scores (same scores; time each).

    .venv/bin/python bench/bm25_scorer.py [--n 1000000] [--dir /tmp/bm25-1000000]

Builds (once; ~40 min for 10^6 here) a BM25 index of N synthetic passages, each 3-6 random sentences
of the shipped briefs, then scores the 94 questions of eval/briefs_qa.jsonl both ways, 3 rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np

from ragbot.chain import Pipeline
from ragbot.index.keyword import KeywordIndex
from ragbot.settings import Settings
from ragbot.terms import tokenize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, help="where the BM25 index is built and kept (default /tmp/bm25-N)")
    args = ap.parse_args()
    out = args.dir or Path(f"/tmp/bm25-{args.n}")
    if not (out / "params.index.json").exists():
        index = Pipeline.load(Settings.load(engine="extractive"), refresh=False).index
        sentences = [p.text[s:e] for p in index.passages for s, e in p.sentences]
        rng = random.Random(0)
        start = time.perf_counter()
        texts = (" ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6))) for _ in range(args.n))
        KeywordIndex.build(texts).save(out)
        print(f"built {args.n} passages in {time.perf_counter() - start:.0f} s", flush=True)
    questions = [json.loads(line)["question"] for line in Path("eval/briefs_qa.jsonl").read_text().splitlines()]
    ours = KeywordIndex.load(out)
    import bm25s

    theirs = bm25s.BM25.load(str(out), mmap=True)
    scale = np.float32(float(theirs.k1) + 1.0)
    for round_ in range(3):
        mine, bm25s_ms = [], []
        for q in questions:
            start = time.perf_counter()
            got = ours.scores(q)
            mine.append((time.perf_counter() - start) * 1000)
            terms = ours.known(tokenize(q))
            if not terms:
                continue
            start = time.perf_counter()
            expected = np.asarray(theirs.get_scores(terms), np.float32) * scale
            bm25s_ms.append((time.perf_counter() - start) * 1000)
            assert np.array_equal(got, expected), q
        p95 = int(0.95 * len(mine))
        print(
            f"round {round_}: numpy p50 {statistics.median(mine):.1f} ms p95 {sorted(mine)[p95]:.1f}; "
            f"bm25s p50 {statistics.median(bm25s_ms):.1f} ms p95 {sorted(bm25s_ms)[int(0.95 * len(bm25s_ms))]:.1f}; scores identical",
            flush=True,
        )


if __name__ == "__main__":
    main()
