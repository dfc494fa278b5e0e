"""BM25 at N passages: ragbot's segmented postings scorer against bm25s' precomputed scores (same scores; time each).

    .venv/bin/python bench/experiments/bm25_scorer.py [--n 1000000] [--segments 1 4] [--dir /tmp/bm25-1000000]

Builds (once, kept in --dir) N synthetic passages' BM25 both ways: bm25s' matrix of precomputed
scores, and ragbot's postings (term counts and passage lengths, the library's statistics applied
per question) as one segment; each passage is 3-6 random sentences of the shipped briefs. Then
scores the 94 questions of eval/briefs_qa.jsonl, 3 rounds, with the postings read as 1 segment and
as the same passages split into more segments (the cost of a library holding several).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np

from ragbot.chain import Pipeline
from ragbot.index.keyword import FILES, KeywordIndex, KeywordSegment
from ragbot.settings import Settings
from ragbot.terms import tokenize


def _texts(n: int) -> list[str]:
    index = Pipeline.load(Settings.load(engine="extractive"), refresh=False).index
    sentences = [p.text[s:e] for p in index.passages for s, e in p.sentences]
    rng = random.Random(0)
    return [" ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6))) for _ in range(n)]


def _split(segment: KeywordSegment, parts: int) -> list[KeywordSegment]:
    """The same passages as ``parts`` segments of consecutive rows."""
    bounds = np.linspace(0, segment.n, parts + 1).astype(int)
    return [_rows(segment, int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _rows(segment: KeywordSegment, a: int, b: int) -> KeywordSegment:
    rows = np.asarray(segment.rows)
    keep = (rows >= a) & (rows < b)
    terms = np.repeat(np.asarray(segment.terms), np.diff(segment.indptr))[keep]
    columns, first = np.unique(terms, return_index=True)
    indptr = np.append(first, len(terms)).astype(np.int64)
    return KeywordSegment(columns, indptr, rows[keep] - a, np.asarray(segment.counts)[keep], np.asarray(segment.lengths[a:b]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--segments", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--dir", type=Path, help="where both BM25 indexes are built and kept (default /tmp/bm25-N)")
    args = ap.parse_args()
    out = args.dir or Path(f"/tmp/bm25-{args.n}")
    import bm25s
    from bm25s.tokenization import Tokenized

    paths = [out / "postings" / f"{name}.npy" for name in FILES]
    if not (out / "bm25s" / "params.index.json").exists():
        texts = _texts(args.n)
        start = time.perf_counter()
        (out / "postings").mkdir(parents=True, exist_ok=True)
        KeywordSegment.build(texts).save(paths)
        print(f"postings of {args.n} passages built in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        vocab: dict[str, int] = {}
        ids = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokenize(text)), dtype=np.int32) for text in texts]
        model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        model.save(str(out / "bm25s"))
        print(f"bm25s matrix of {args.n} passages built in {time.perf_counter() - start:.0f} s", flush=True)
    questions = [json.loads(line)["question"] for line in Path("eval/briefs_qa.jsonl").read_text().splitlines()]
    theirs = bm25s.BM25.load(str(out / "bm25s"), mmap=True, load_vocab=True)
    one = KeywordSegment.read(paths)
    scorers = {k: KeywordIndex([one] if k == 1 else _split(one, k)) for k in args.segments}
    for round_ in range(3):
        times: dict[str, list[float]] = {"bm25s": [], **{f"{k} segments": [] for k in args.segments}}
        for q in questions:
            terms = [t for t in dict.fromkeys(tokenize(q)) if t in theirs.vocab_dict]
            start = time.perf_counter()
            expected = np.asarray(theirs.get_scores(terms), np.float32) * np.float32(2.2) if terms else np.zeros(args.n, np.float32)
            times["bm25s"].append((time.perf_counter() - start) * 1000)
            for k, scorer in scorers.items():
                start = time.perf_counter()
                got = scorer.scores(q)
                times[f"{k} segments"].append((time.perf_counter() - start) * 1000)
                np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=q)
        line = "; ".join(f"{name} p50 {statistics.median(t):.1f} ms p95 {sorted(t)[int(0.95 * len(t))]:.1f}" for name, t in times.items())
        print(f"round {round_}: {line}; scores agree", flush=True)


if __name__ == "__main__":
    main()
