"""The deterministic claim checks replayed on a recorded `ragbot eval --engine llm` run, without the model.

    .venv/bin/python bench/replay_checks.py eval/runs/RUN [--dataset eval/briefs_qa.jsonl eval/unanswerable_qa.jsonl]

Each answered question's kept sentences are checked against the passages they cite; a question whose
sentences all fail becomes unsure. Prints wrong-answer rate, precision of answered, false abstention
and key-fact recall before and after, by half (odd, even) and for all. With --quote-fallback, a question
whose written sentences were all dropped offers the instant engine's quote instead, if it passes the checks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ragbot.citations import split_claims
from ragbot.claim_checks import ClaimChecks
from ragbot.evaluation import metrics as m

WRITING_FAILED = "The written answer was not supported by the passages."


def replay(row: dict[str, Any], facts: list[str], checks: ClaimChecks, quote: bool) -> tuple[str, str, list[str]]:
    """(outcome, answer text, failed checks) of one recorded question with the checks applied."""
    answerable = row["type"] != "unanswerable"
    if quote and row["notice"] == WRITING_FAILED:  # judged to state the answer, every written sentence dropped: the quote, if it passes
        source = [next((c["text"] for c in row["citations"] if i in c.get("supports", [])), "") for i in range(len(row["sentences"]))]
        quoted = list(zip(row["sentences"], source, strict=True))
        passing, failures = checks.run(row["question"], quoted)
        if passing:
            text = " ".join(quoted[i][0] for i in passing)
            return m.outcome("answered", text, facts, answerable), text, ["quoted"]
        return "unsure", "", [f.check for f in failures]
    if row["status"] != "answered":
        return row["scores"]["outcome"], row["answer"], []
    texts = {h["passage_id"]: h["text"] for h in row["retrieved"]}
    cited = {c["n"]: texts.get(c["passage_id"], c["quote"]) for c in row["citations"]}
    claims = [(claim, cited.get(ns[0], "") if ns else "") for claim, ns in split_claims(row["answer"])]
    passing, failures = checks.run(row["question"], claims)
    if not passing:
        return "unsure", "", [f.check for f in failures]
    text = " ".join(claims[i][0] for i in passing)
    return m.outcome("answered", text, facts, answerable), text, [f.check for f in failures]


def figures(rows: list[dict[str, Any]], outcomes: list[str], facts: dict[str, list[str]], texts: list[str]) -> dict[str, float]:
    answered = [o for o in outcomes if o in ("correct", "partial", "wrong")]
    answerable = [(r, o, t) for r, o, t in zip(rows, outcomes, texts, strict=True) if r["type"] != "unanswerable"]
    recall = [m.key_fact_recall(t, facts[r["id"]]) if o in ("correct", "partial", "wrong") else 0.0 for r, o, t in answerable]
    return {
        "wrong": outcomes.count("wrong") / len(outcomes),
        "precision": outcomes.count("correct") / len(answered) if answered else 0.0,
        "false_abst": sum(o in ("unsure", "abstained") for _, o, _ in answerable) / len(answerable),
        "key_facts": sum(recall) / len(recall),
        "answered": float(len(answered)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--dataset", nargs="+", type=Path, default=[Path("eval/briefs_qa.jsonl"), Path("eval/unanswerable_qa.jsonl")])
    p.add_argument("--quote-fallback", action="store_true", help="when every written sentence fails, offer the quote if it passes")
    p.add_argument("--show", action="store_true", help="print every question whose outcome the checks change")
    args = p.parse_args()
    items = [json.loads(line) for f in args.dataset for line in f.open(encoding="utf-8") if line.strip()]
    facts = {d["id"]: d.get("key_facts", []) for d in items}
    rows = [json.loads(line) for line in (args.run / "results.jsonl").open(encoding="utf-8")]
    checks = ClaimChecks()
    replayed = [replay(r, facts[r["id"]], checks, args.quote_fallback) for r in rows]
    for half in ("odd", "even", "all"):
        keep = [i for i, r in enumerate(rows) if half == "all" or r.get("half") == half]
        part = [rows[i] for i in keep]
        before = figures(part, [r["scores"]["outcome"] for r in part], facts, [r["answer"] for r in part])
        after = figures(part, [replayed[i][0] for i in keep], facts, [replayed[i][1] for i in keep])
        print(f"{half:5} n={len(part):3}  " + "  ".join(f"{k} {before[k]:.3f}->{after[k]:.3f}" for k in before))
    if args.show:
        for r, (outcome, _, failed) in zip(rows, replayed, strict=True):
            if outcome != r["scores"]["outcome"]:
                print(f"{r['id']} {r.get('half')} {r['scores']['outcome']}->{outcome} {failed} | {r['question']}\n    {r['answer'][:200]}")


if __name__ == "__main__":
    main()
