"""Calibrate the extractive engine's abstention threshold on a QA set (JSONL with question and type).

Prints the best-sentence score of answerable and unanswerable questions and, for each candidate
threshold, the share of unanswerable questions abstained on and of answerable ones wrongly
abstained on; suggests the threshold that abstains most on unanswerable questions net of false
abstentions, within the false-abstention budget (the lowest such threshold on a tie).

    .venv/bin/python bench/calibrate_abstention.py [eval/briefs_qa.jsonl] [--max-false 0.05]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ragbot.chain import Pipeline
from ragbot.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, default=Path("eval/briefs_qa.jsonl"))
    ap.add_argument("--max-false", type=float, default=0.05, help="largest share of answerable questions that may abstain")
    args = ap.parse_args()
    pipeline = Pipeline.load(Settings.load())
    answerable, unanswerable = [], []
    for line in args.dataset.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        scored = pipeline.engine("extractive").score_sentences(pipeline.retriever.run(item["question"]))
        best = scored[0].score if scored else -1.0  # no sentence can answer: always abstains
        (unanswerable if item.get("type") == "unanswerable" else answerable).append(best)
    a, u = np.array(answerable), np.array(unanswerable)
    print(f"{len(a)} answerable: best-sentence score p5 {np.percentile(a, 5):.3f}, min {a.min():.3f}")
    print(f"{len(u)} unanswerable: scores {np.round(np.sort(u), 3).tolist()}")
    print("threshold  abstain(unanswerable)  false_abstain(answerable)")
    chosen, best_gain = None, -1.0
    # Rates change only at observed scores: try each, just above it (a question abstains when score < threshold).
    for t in sorted({round(float(x) + 0.005, 3) for x in np.concatenate([a, u])} | {0.0}):
        false_rate, abstain_rate = float((a < t).mean()), float((u < t).mean()) if len(u) else 0.0
        if false_rate > args.max_false:
            break
        print(f"  {t:.3f}     {abstain_rate:.2f}                   {false_rate:.2f}")
        if abstain_rate - false_rate > best_gain:
            chosen, best_gain = t, abstain_rate - false_rate
    print(f"suggested abstain_threshold = {chosen} (false abstention <= {args.max_false:.0%})")


if __name__ == "__main__":
    main()
