"""Does the retrieval score add to the judge's P(Yes)? A logistic fit of both on the odd half, replayed like another judge.

    .venv/bin/python bench/experiments/judge_plus_retrieval.py RUN_DIR --out /tmp/combined.jsonl
    .venv/bin/python bench/calibrate_judge.py RUN_DIR --p-yes /tmp/combined.jsonl

RUN_DIR is a recording made as bench/calibrate_judge.py describes. For every question the model
judged: features logit(P(Yes)) and the extractive engine's best-sentence score; answerability
fitted on the odd half (by Newton's method, lightly regularised); the fitted probability is written
as {"id", "p_yes"} so calibrate_judge chooses thresholds on the odd half and reports the even one.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from ragbot.chain import Pipeline
from ragbot.evaluation.calibrate import auroc
from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.runner import read_results
from ragbot.settings import Settings


def fit(x: np.ndarray, y: np.ndarray, steps: int = 50, ridge: float = 1e-2) -> np.ndarray:
    """Weights (last one the intercept) of P(y) = sigmoid(x w) by Newton's method."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + ridge * w
        hess = (x * (p * (1 - p) + 1e-9)[:, None]).T @ x + ridge * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    config = json.loads((args.run / "metrics.json").read_text(encoding="utf-8"))["config"]
    pipeline = Pipeline.load(Settings.load(engine="extractive"), refresh=False)
    items = {i.id: i for path in config["dataset"].split(" + ") for i in load_dataset(Path(path), pipeline.settings.corpus_dir).items}
    rows = []
    for r in read_results(args.run):
        p = (r.get("checks") or {}).get("p_yes")
        if p is None or r["id"] not in items:
            continue
        item = items[r["id"]]
        scored = pipeline.engine("extractive").score_sentences(pipeline.retriever.run(item.question))
        p = min(max(p, 1e-6), 1 - 1e-6)
        rows.append((r["id"], item.half, float(item.answerable), math.log(p / (1 - p)), scored[0].score if scored else -1.0))
    x = np.array([[lp, best] for *_, lp, best in rows])
    y = np.array([a for _, _, a, _, _ in rows])
    odd = np.array([h == "odd" for _, h, *_ in rows])
    mu, sd = x[odd].mean(0), x[odd].std(0) + 1e-9
    w = fit((x[odd] - mu) / sd, y[odd])
    combined = 1 / (1 + np.exp(-(np.hstack([(x - mu) / sd, np.ones((len(x), 1))]) @ w)))
    print(f"weights (standardised logit P(Yes), best-sentence score, intercept): {np.round(w, 3).tolist()}")
    for name, mask in (("odd", odd), ("even", ~odd), ("all", np.ones(len(rows), bool))):
        for label, score in (("P(Yes)", x[:, 0]), ("best sentence", x[:, 1]), ("combined", combined)):
            s, m = score[mask], y[mask]
            print(f"{name:5} {label:14} AUROC {auroc(list(s[m == 1]), list(s[m == 0])):.3f}")
    lines = [json.dumps({"id": rid, "p_yes": float(c)}) for (rid, *_), c in zip(rows, combined, strict=True)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
