"""Answerability from per-passage readings, replayed on a recorded LLM run: does a gate on it raise precision of answered?

    .venv/bin/python bench/replay_gate.py eval/runs/RUN READINGS.jsonl [--passages 3 5]

Each recorded question gets today's outcome with the claim checks applied (bench/replay_checks.py), then
a gate: an answered question whose score is below a threshold becomes unsure. Scores compared at the same
budget: today's judge confidence (raising its threshold), the max per-passage P(Yes) over the top N
(bench/passage_readings.py), and their mean. Each threshold is chosen on the odd half by the rule the
judge's own thresholds follow (evaluation/calibrate.py): the fewest wrong answers while false abstention
rises by at most 0.05, ties to the higher key-fact recall, then the lower threshold; reported on the
even half and on the whole. No model runs.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from replay_checks import figures, replay

from ragbot.claim_checks import ClaimChecks
from ragbot.engines.passage_reader import best_p_yes

MAX_FALSE = 0.05
GRID = [i / 100 for i in range(100)]  # as evaluation/calibrate.py chooses passage_answer_from
Row = dict[str, Any]


def max_p_yes(path: Path, top: int) -> dict[str, float]:
    """Each question's highest per-passage P(Yes) over its top ``top`` retrieved passages (None read as 0)."""
    best: dict[str, float] = defaultdict(float)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["rank"] <= top:
            best[r["id"]] = best_p_yes([best[r["id"]], r["p_yes"]])
    return dict(best)


def gated(outcomes: list[tuple[str, str]], scores: list[float], threshold: float) -> list[tuple[str, str]]:
    """An answered outcome (correct, partial, wrong) below the threshold becomes unsure."""
    answered = ("correct", "partial", "wrong")
    return [("unsure", "") if o in answered and s < threshold else (o, t) for (o, t), s in zip(outcomes, scores, strict=True)]


def choose(rows: list[Row], outcomes: list[tuple[str, str]], scores: list[float], facts: dict[str, list[str]]) -> float:
    """The odd half's threshold: fewest wrong while false abstention rises by at most MAX_FALSE; then recall, then lower."""
    odd = [i for i, r in enumerate(rows) if r.get("half") == "odd"]
    part = [rows[i] for i in odd]

    def fig(t: float) -> dict[str, float]:
        g = gated([outcomes[i] for i in odd], [scores[i] for i in odd], t)
        return figures(part, [o for o, _ in g], facts, [x for _, x in g])

    base = fig(0.0)["false_abst"]
    swept = [(fig(t), t) for t in GRID]
    return min((f["wrong"], -f["key_facts"], t) for f, t in swept if f["false_abst"] <= base + MAX_FALSE + 1e-9)[2]


def report(name: str, rows: list[Row], outcomes: list[tuple[str, str]], scores: list[float], facts: dict[str, list[str]]) -> None:
    t = choose(rows, outcomes, scores, facts)
    after = gated(outcomes, scores, t)
    print(f"\n{name}: threshold {t:.2f} (chosen on odd)")
    for half in ("odd", "even", "all"):
        keep = [i for i, r in enumerate(rows) if half == "all" or r.get("half") == half]
        f = figures([rows[i] for i in keep], [after[i][0] for i in keep], facts, [after[i][1] for i in keep])
        print(f"  {half:5} " + "  ".join(f"{k} {v:.3f}" if k != "answered" else f"answered {int(v)}" for k, v in f.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("readings", type=Path)
    p.add_argument("--dataset", nargs="+", type=Path, default=[Path("eval/briefs_qa.jsonl"), Path("eval/unanswerable_qa.jsonl")])
    p.add_argument("--passages", nargs="+", type=int, default=[3, 5], help="top N passages whose max P(Yes) is the score")
    args = p.parse_args()
    items = [json.loads(line) for f in args.dataset for line in f.open(encoding="utf-8") if line.strip()]
    facts = {d["id"]: d.get("key_facts", []) for d in items}
    rows = [json.loads(line) for line in (args.run / "results.jsonl").open(encoding="utf-8")]
    checks = ClaimChecks()
    outcomes = [replay(r, facts[r["id"]], checks, False)[:2] for r in rows]
    judge = [float(r.get("confidence") or 0.0) for r in rows]
    report("no gate (claim checks only)", rows, outcomes, [1.0] * len(rows), facts)
    report("today's judge confidence, threshold raised", rows, outcomes, judge, facts)
    for n in args.passages:
        best = max_p_yes(args.readings, n)
        reading = [best.get(r["id"], 0.0) for r in rows]
        report(f"max per-passage P(Yes), top {n}", rows, outcomes, reading, facts)
        mean = [(a + b) / 2 for a, b in zip(judge, reading, strict=True)]
        report(f"mean of judge confidence and max P(Yes) top {n}", rows, outcomes, mean, facts)


if __name__ == "__main__":
    main()
