"""Replay recorded per-passage readings offline: hit@1 of retrieval order against reranking, and AUROC of max P(Yes).

Reads bench/passage_readings.py's JSONL (one line per question and retrieved passage) and today's
LLM engine run (results.jsonl: per-question ``confidence``, ``status``, ``scores.outcome``,
``checks.p_yes``). The blend weight is chosen on the odd half (by each file's question place) and
reported on the even half and on the whole. No model is run.

    .venv/bin/python bench/passage_rerank.py /work/trust-runs/readings.jsonl --baseline /work/baseline/llm/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from ragbot.evaluation.calibrate import auroc

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 1e6)  # 1e6: retrieval order, P(Yes) breaks ties only
HALVES = ("odd", "even", "all")


def logit(p: float | None) -> float:
    p = 0.5 if p is None else min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def questions(path: Path, top: int) -> dict[str, list[dict[str, Any]]]:
    """Each question's readings in retrieval order, for the questions whose top ``top`` passages were all read."""
    by_q: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["rank"] <= top:
            by_q[r["id"]].setdefault(r["rank"], r)  # a reading recorded twice (two recorders) counts once
    return {q: [rs[k] for k in sorted(rs)] for q, rs in by_q.items() if set(rs) == set(range(1, top + 1))}


def in_half(rows: list[dict[str, Any]], half: str) -> bool:
    return half == "all" or rows[0]["half"] == half


def top_passage(rows: list[dict[str, Any]], weight: float) -> dict[str, Any]:
    return min(rows, key=lambda r: (-(logit(r["p_yes"]) + weight * r["score"]), r["rank"]))


def hit1(qs: dict[str, list[dict[str, Any]]], half: str, weight: float | None) -> tuple[float, int]:
    """hit@1 over answerable questions with gold evidence: retrieval order (weight None) or the blend."""
    scored = [rs for rs in qs.values() if rs[0]["answerable"] and in_half(rs, half)]
    hits = [(rs[0] if weight is None else top_passage(rs, weight))["gold"] for rs in scored]
    return (sum(hits) / len(hits) if hits else float("nan")), len(hits)


def choose_weight(qs: dict[str, list[dict[str, Any]]]) -> float:
    """The blend weight with the best hit@1 on the odd half; ties go to the smaller weight."""
    return max(WEIGHTS, key=lambda w: (hit1(qs, "odd", w)[0], -w))


def rerank_report(qs: dict[str, list[dict[str, Any]]], top: int) -> None:
    print(f"\n## hit@1, top {top} read ({len(qs)} questions with all {top} read)")
    print(f"{'order':34} " + " ".join(f"{h:>12}" for h in HALVES))
    for name, w in [("retrieval", None), ("P(Yes) alone", 0.0), *[(f"blend w={x:g}", x) for x in WEIGHTS[1:-1]]]:
        cells = [hit1(qs, h, w) for h in HALVES]
        print(f"{name:34} " + " ".join(f"{v:.3f} ({n:2})" for v, n in cells))
    w = choose_weight(qs)
    print(f"chosen on the odd half: w={w:g}: " + ", ".join(f"{h} {hit1(qs, h, w)[0]:.3f}" for h in HALVES))
    for h in HALVES:
        answerable = [rs for rs in qs.values() if rs[0]["answerable"] and in_half(rs, h)]
        fixed = sum(not rs[0]["gold"] and top_passage(rs, w)["gold"] for rs in answerable)
        broken = sum(rs[0]["gold"] and not top_passage(rs, w)["gold"] for rs in answerable)
        alone = sum(not rs[0]["gold"] and top_passage(rs, 0.0)["gold"] for rs in answerable)
        alone_broken = sum(rs[0]["gold"] and not top_passage(rs, 0.0)["gold"] for rs in answerable)
        print(f"  {h}: w={w:g} gold first in {fixed} more, {broken} fewer; P(Yes) alone {alone} / {alone_broken}")


def labels(base: dict[str, dict[str, Any]], qid: str) -> dict[str, bool]:
    b = base[qid]
    return {
        "answerable": b["type"] != "unanswerable",
        "answered_right": b["type"] != "unanswerable" and b["scores"].get("outcome") in {"correct", "partial"},
    }


def auroc_table(qs: dict[str, list[dict[str, Any]]], base: dict[str, dict[str, Any]], subset: str) -> None:
    """AUROC of max per-passage P(Yes) against today's judge, over all questions or those that reach the judge."""
    rng = random.Random(0)
    ids = [q for q in qs if q in base and (subset == "all" or not qs[q][0]["gated"])]
    gated = {q: qs[q][0]["gated"] for q in ids}
    scores = {
        "today's confidence": {q: 0.0 if gated[q] else base[q]["confidence"] for q in ids},
        "max per-passage P(Yes)": {q: 0.0 if gated[q] else max(r["p_yes"] or 0 for r in qs[q]) for q in ids},
        "P(Yes) of retrieval's top passage": {q: 0.0 if gated[q] else qs[q][0]["p_yes"] or 0 for q in ids},
    }
    for label in ("answerable", "answered_right"):
        print(f"\n## AUROC, {label} vs the rest, {subset} questions ({len(ids)}; the gate's abstentions score 0)")
        for name, s in scores.items():
            cells = []
            for h in HALVES:
                part = [q for q in ids if h == "all" or qs[q][0]["half"] == h]
                pos = [s[q] for q in part if labels(base, q)[label]]
                neg = [s[q] for q in part if not labels(base, q)[label]]
                cells.append(f"{auroc(pos, neg):.3f} ({len(pos)}/{len(neg)})")
            diffs = sorted(_paired(ids, s, scores["today's confidence"], base, label, rng) for _ in range(1000))
            print(f"{name:36} " + " ".join(f"{c:>16}" for c in cells) + f"  vs today 95% CI {diffs[25]:+.3f} .. {diffs[974]:+.3f}")


def _paired(
    ids: list[str], s: dict[str, float], today: dict[str, float], base: dict[str, dict[str, Any]], label: str, rng: random.Random
) -> float:
    """One bootstrap sample's AUROC difference, score against today's confidence."""
    sample = [rng.choice(ids) for _ in ids]
    pos = [q for q in sample if labels(base, q)[label]]
    neg = [q for q in sample if not labels(base, q)[label]]
    a = auroc([s[q] for q in pos], [s[q] for q in neg])
    b = auroc([today[q] for q in pos], [today[q] for q in neg])
    return a - b


def costs(path: Path) -> None:
    """Tokens and seconds of the first reading of each passage (uncached) and of the later ones (cached prefix)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    seen: set[str] = set()
    first, slot, restored = [], [], []
    previous = None
    for r in rows:
        if r["passage_id"] not in seen:
            first.append(r)
        else:
            (slot if r["passage_id"] == previous else restored).append(r)
        seen.add(r["passage_id"])
        previous = r["passage_id"]
    print("\n## cost per reading (prompt tokens, of which cached; evaluated = prompt - cached; wall ms on shared cores)")
    parts = (("first reading of a passage", first), ("same passage as the last call", slot), ("read before, others since", restored))
    for name, part in parts:
        ev = sorted(r["prompt_tokens"] - r["cached_tokens"] for r in part)
        ms = sorted(r["ms"] for r in part)
        pt = sorted(r["prompt_tokens"] for r in part)
        if part:
            print(
                f"{name:36} n={len(part):3} prompt median {pt[len(pt) // 2]}, evaluated median {ev[len(ev) // 2]}, "
                f"mean {sum(ev) / len(ev):.0f}; wall median {ms[len(ms) // 2]} ms, mean {sum(ms) / len(ms):.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readings", type=Path)
    parser.add_argument("--baseline", type=Path, default=Path("/work/baseline/llm/results.jsonl"))
    args = parser.parse_args()
    base = {b["id"]: b for b in map(json.loads, args.baseline.read_text().splitlines())}
    costs(args.readings)
    for top in (3, 5):
        rerank_report(questions(args.readings, top), top)
    for top in (3, 5):
        qs = questions(args.readings, top)
        print(f"\n# AUROC with the top {top} read ({len(qs)} questions)")
        for subset in ("all", "judged"):
            auroc_table(qs, base, subset)


if __name__ == "__main__":
    main()
