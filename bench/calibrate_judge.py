"""Choose the answerability judge's thresholds on the odd half of a recorded run; report the even half, then the whole.

Record once, with the LLM engine writing and checking everything and deciding nothing:

    RAGBOT_JUDGE_ABSTAIN_BELOW=0 RAGBOT_JUDGE_ANSWER_FROM=0 RAGBOT_CLAIM_THRESHOLD=0.000001 \\
        .venv/bin/ragbot eval --engine llm --dataset eval/briefs_qa.jsonl eval/unanswerable_qa.jsonl --out RUN_DIR

then replay it (no model runs; a sweep takes seconds):

    .venv/bin/python bench/calibrate_judge.py RUN_DIR [--max-false 0.05] [--max-abstain 0.02] [--p-yes FILE]

``--p-yes`` replays another way of asking the judge on the same recording: a JSON-lines file of
{"id", "p_yes"} (bench/judge_variants.py --export writes one). The written answers do not depend
on the judge's wording (it decides nothing while recording), so only P(Yes) changes.

Each question's recorded P(Yes) (``checks.p_yes``), the verified written sentences and each
sentence's P(Yes) that its passage states it (``checks.claims``) are replayed at every candidate
(judge_answer_from, claim_threshold): a question below judge_answer_from is not answered, a
sentence below claim_threshold is dropped, an answer with no sentence left is unsure, and what
remains is scored by key facts as `ragbot eval` scores it. The budgets are fixed in advance:
- judge_answer_from and claim_threshold: the fewest wrong answers on the
  odd half while the checks add at most --max-false to its false abstention (answerable questions
  not answered, for any reason; verification alone already leaves some unsure); ties go to the
  higher key-fact recall, then the lower thresholds;
- judge_abstain_below: the highest P(Yes) below which at most --max-abstain of the odd half's
  answerable questions fall (between the two the answer is "unsure"); not above judge_answer_from;
- judge_calibration: logistic regression of answerability on logit(P(Yes)), odd half; its
  Brier score is reported on the even half beside raw P(Yes)'s.
The extractive engine's calibration (best sentence score -> confidence) is fitted the same way,
from the same questions' retrieval (recomputed: it needs no model).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from statistics import mean
from typing import Any, NamedTuple

import numpy as np

from ragbot.chain import Pipeline
from ragbot.evaluation.dataset import EvalItem, load_dataset
from ragbot.evaluation.metrics import OUTCOMES, key_fact_recall, outcome
from ragbot.evaluation.runner import read_results
from ragbot.settings import Settings

GRID = [round(float(x), 2) for x in np.arange(0.0, 0.96, 0.05)]


class Thresholds(NamedTuple):
    answer_from: float
    abstain_below: float
    claim: float


def replay(record: dict[str, Any], item: EvalItem, t: Thresholds) -> tuple[str, float]:
    """(outcome, key-fact recall) of one recorded question at these thresholds."""
    answer_from, abstain_below, claim = t
    checks = record.get("checks") or {}
    p = checks.get("p_yes")
    if record["status"] == "abstained" and p is None:  # the extractive gate: the model was never asked
        return "abstained", 0.0
    if p is not None and p < abstain_below:
        return "abstained", 0.0
    if p is not None and p < answer_from:
        return "unsure", 0.0
    if record["status"] != "answered":
        return record["status"], 0.0
    claims = checks.get("claims") or [None] * len(record["sentences"])
    kept = [s for s, c in zip(record["sentences"], claims, strict=True) if c is None or c >= claim]
    if not kept:
        return "unsure", 0.0
    text = " ".join(kept)
    return outcome("answered", text, item.key_facts, item.answerable), key_fact_recall(text, item.key_facts) if item.answerable else 0.0


def figures(pairs: list[tuple[dict[str, Any], EvalItem]], t: Thresholds) -> dict[str, float]:
    results = [(item, *replay(r, item, t)) for r, item in pairs]
    answerable = [(o, k) for item, o, k in results if item.answerable]
    unanswerable = [o for item, o, _ in results if not item.answerable]
    out = {f"{name}_share": mean(o == name for _, o, _ in results) for name in OUTCOMES}
    out["wrong_answer_rate"] = out["wrong_share"]
    out["abstention"] = mean(o in ("unsure", "abstained") for o in unanswerable) if unanswerable else float("nan")
    out["false_abstention"] = mean(o in ("unsure", "abstained") for o, _ in answerable) if answerable else float("nan")
    out["key_fact_recall"] = mean(k for _, k in answerable) if answerable else float("nan")
    out["n"] = len(results)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """(a, b) of P(y) = sigmoid(a x + b) by Newton's method, lightly regularised so separable data stays finite.

    A higher score never means a lower confidence: a negative slope (noise) gives the base rate, (0, logit(mean y)).
    """
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * x + b)))
        w = p * (1 - p) + 1e-9
        grad = np.array([np.sum((p - y) * x) + 1e-2 * a, np.sum(p - y)])
        hess = np.array([[np.sum(w * x * x) + 1e-2, np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        a, b = np.array([a, b]) - np.linalg.solve(hess, grad)
    if a < 0:
        return 0.0, logit(float(np.mean(y)))
    return float(a), float(b)


def auroc(positive: list[float], negative: list[float]) -> float:
    if not positive or not negative:
        return float("nan")
    return mean((p > n) + 0.5 * (p == n) for p in positive for n in negative)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def show(name: str, f: dict[str, float]) -> str:
    return (
        f"{name:<22} n={f['n']:<4} wrong {f['wrong_answer_rate']:.3f}  abstention {f['abstention']:.3f}  "
        f"false abstention {f['false_abstention']:.3f}  key facts {f['key_fact_recall']:.3f}  "
        + " ".join(f"{o} {f[o + '_share']:.2f}" for o in OUTCOMES)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a `ragbot eval --engine llm` output folder recorded as above")
    ap.add_argument("--max-false", type=float, default=0.05, help="false abstention the checks may add (default 0.05)")
    ap.add_argument("--max-abstain", type=float, default=0.02, help="budget of answerable questions told 'the briefs don't say'")
    ap.add_argument("--p-yes", type=Path, help='JSON lines {"id", "p_yes"}: replay these P(Yes) instead of the recorded ones')
    args = ap.parse_args()
    config = json.loads((args.run / "metrics.json").read_text(encoding="utf-8"))["config"]
    settings = Settings.load()
    items = {i.id: i for path in config["dataset"].split(" + ") for i in load_dataset(Path(path), settings.corpus_dir).items}
    pairs = [(r, items[r["id"]]) for r in read_results(args.run) if r["id"] in items and "error" not in r]
    if args.p_yes:
        other = {o["id"]: o["p_yes"] for o in map(json.loads, args.p_yes.read_text(encoding="utf-8").splitlines())}
        for r, _ in pairs:
            if (r.get("checks") or {}).get("p_yes") is not None and other.get(r["id"]) is not None:
                r["checks"]["p_yes"] = other[r["id"]]
    odd = [(r, i) for r, i in pairs if i.half == "odd"]
    even = [(r, i) for r, i in pairs if i.half == "even"]

    def p_of(group: list[tuple[dict[str, Any], EvalItem]], answerable: bool) -> list[float]:
        return [r["checks"]["p_yes"] for r, i in group if i.answerable == answerable and (r.get("checks") or {}).get("p_yes") is not None]

    for name, group in (("odd", odd), ("even", even), ("all", pairs)):
        print(f"P(Yes) AUROC, answerable vs unanswerable, {name}: {auroc(p_of(group, True), p_of(group, False)):.3f}")
    print("\nrecorded (nothing decided by the judge):")
    print(show("  all", figures(pairs, Thresholds(0.0, 0.0, 0.0))))

    # The budget is for what the judge's decisions add: verification already leaves some answerable questions unsure.
    allowed_false = figures(odd, Thresholds(0.0, 0.0, 0.0))["false_abstention"] + args.max_false
    candidates = []
    for answer_from in GRID:
        for claim in GRID:
            f = figures(odd, Thresholds(answer_from, 0.0, claim))
            if f["false_abstention"] <= allowed_false + 1e-9:
                candidates.append((f["wrong_answer_rate"], -f["key_fact_recall"], answer_from + claim, answer_from, claim))
    *_, answer_from, claim = min(candidates)
    answerable_p = sorted(p_of(odd, True))
    allowed = int(args.max_abstain * len([1 for _, i in odd if i.answerable]))
    abstain_below = min(answer_from, round(answerable_p[allowed] - 0.005, 3) if allowed < len(answerable_p) else answer_from)
    abstain_below = max(0.0, math.floor(abstain_below * 100) / 100)

    odd_p = [(r["checks"]["p_yes"], i.answerable) for r, i in odd if (r.get("checks") or {}).get("p_yes") is not None]
    a, b = fit_logistic(np.array([logit(p) for p, _ in odd_p]), np.array([float(y) for _, y in odd_p]))
    even_p = [(r["checks"]["p_yes"], i.answerable) for r, i in even if (r.get("checks") or {}).get("p_yes") is not None]
    brier_raw = mean((p - y) ** 2 for p, y in even_p)
    brier_cal = mean((1 / (1 + math.exp(-(a * logit(p) + b))) - y) ** 2 for p, y in even_p)

    pipeline = Pipeline.load(Settings.load(engine="extractive"), refresh=False)
    best = {}
    for _, i in pairs:
        scored = pipeline.engine.score_sentences(pipeline.retriever.run(i.question))
        best[i.id] = scored[0].score if scored else -1.0
    ea, eb = fit_logistic(np.array([best[i.id] for _, i in odd]), np.array([float(i.answerable) for _, i in odd]))
    e_brier = mean((1 / (1 + math.exp(-(ea * best[i.id] + eb))) - float(i.answerable)) ** 2 for _, i in even)
    scores_of = {y: [best[i.id] for _, i in pairs if i.answerable == y] for y in (True, False)}
    print(f"best-sentence score AUROC, answerable vs unanswerable, all: {auroc(scores_of[True], scores_of[False]):.3f}")

    chosen = Thresholds(answer_from, abstain_below, claim)
    print(f"\nchosen on the odd half: {chosen}")
    print(f"judge_calibration = [{a:.3f}, {b:.3f}]  (even half Brier: raw P(Yes) {brier_raw:.3f}, calibrated {brier_cal:.3f})")
    print(f"extractive_calibration = [{ea:.3f}, {eb:.3f}]  (even half Brier {e_brier:.3f})")
    for name, group in (("odd (chosen on)", odd), ("even (held out)", even), ("all", pairs)):
        print(show(f"  {name}", figures(group, chosen)))
    print("\nthe gate alone (no claim checks), same thresholds otherwise:")
    for name, group in (("even (held out)", even), ("all", pairs)):
        print(show(f"  {name}", figures(group, chosen._replace(claim=0.0))))
    print("\nthe trade-off: judge_answer_from alone (no other check), odd / even half:")
    for answer_from in GRID:
        fo, fe = (figures(g, Thresholds(answer_from, 0.0, 0.0)) for g in (odd, even))
        print(
            f"  {answer_from:.2f}  wrong {fo['wrong_answer_rate']:.3f} / {fe['wrong_answer_rate']:.3f}  abstention "
            f"{fo['abstention']:.3f} / {fe['abstention']:.3f}  false abstention {fo['false_abstention']:.3f} / {fe['false_abstention']:.3f}"
            f"  key facts {fo['key_fact_recall']:.3f} / {fe['key_fact_recall']:.3f}"
        )
    print("\nby dataset and half, chosen thresholds:")
    for prefix in sorted({i.id[0] for _, i in pairs}):
        for half in ("odd", "even"):
            group = [(r, i) for r, i in pairs if i.id[0] == prefix and i.half == half]
            print(show(f"  {prefix}* {half}", figures(group, chosen)))


if __name__ == "__main__":
    main()
