"""Compare ways of asking the model whether the passages state the answer: AUROC of each, odd / even / all.

For every question of the eval sets that passes the retrieval gate, the LLM engine's own evidence
and prompt, then one generated token per variant (P(Yes), or for "which" the probability that some
passage, not "0", holds the answer). Variants that append to the written answer's prompt share its
cached prefix, so each costs only its own words; "alone_1" asks about the best passage by itself.

    .venv/bin/python bench/experiments/judge_variants.py --out /tmp/variants.jsonl      # ~20 s a question here
    .venv/bin/python bench/experiments/judge_variants.py --report /tmp/variants.jsonl
    RAGBOT_LLM_CONTEXT_TOKENS=480 .venv/bin/python bench/experiments/judge_variants.py --only-production --out /tmp/480.jsonl
    .venv/bin/python bench/experiments/judge_variants.py --report /tmp/variants.jsonl --export failure_modes /tmp/p.jsonl

Questions are split by their place in each file, as bench/calibrate_judge.py splits them.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.engines.judge import ANSWERABLE_PROMPT, AnswerabilityJudge
from ragbot.evaluation.calibrate import auroc
from ragbot.evaluation.dataset import load_dataset
from ragbot.settings import Settings

FAILURE_MODES = (
    "Do the passages state the answer to this question? Reply No if they only discuss the topic, if they are about a "
    "different country, person or time than the question asks, or if the exact number, date or name asked for is missing. "
    "Reply Yes or No."
)
WHICH = "Which numbered passage states the answer to this question? Reply with its number, or 0 if none of them states it."
SETS = ["eval/briefs_qa.jsonl", "eval/unanswerable_qa.jsonl"]


def p_some(top: list[dict[str, Any]]) -> float | None:
    """The probability of a passage number over a number or "0"."""
    zero = some = 0.0
    for entry in top:
        word = str(entry.get("token", "")).strip().strip("[].").lower()
        p = math.exp(float(entry.get("logprob", -math.inf)))
        if word in {"0", "none"}:
            zero += p
        elif word.isdigit():
            some += p
    return some / (some + zero) if some + zero > 0 else None


def record(out: Path, limit: int | None, only_production: bool = False) -> None:
    pipeline = Pipeline.load(Settings.load(engine="llm"), refresh=False)
    engine: Any = pipeline.engine("llm")
    judge: AnswerabilityJudge = engine.judge
    done = {json.loads(line)["id"] for line in out.read_text().splitlines()} if out.exists() else set()
    corpus = pipeline.settings.corpus_dir
    items = [(path, item.position, item) for path in SETS for item in load_dataset(Path(path), corpus).items]
    items.sort(key=lambda x: (x[1], x[0]))  # the files interleaved: a partial recording holds both kinds of question
    with out.open("a") as f:
        for path, place, item in items[:limit]:
            if item.id in done:
                continue
            retrieval = pipeline.retriever.run(item.question)
            scored = engine.extractive.score_sentences(retrieval)
            row: dict[str, Any] = {"id": item.id, "set": path, "place": place, "answerable": item.type != "unanswerable"}
            row["subtype"] = item.subtype or item.type
            if engine.extractive.answer(retrieval, scored).abstained:
                row["gated"] = True
                f.write(json.dumps(row) + "\n")
                continue
            evidence = engine.evidence(retrieval, scored)
            messages = engine.messages(item.question, evidence)
            *head, (role, last) = messages
            start = time.perf_counter()
            row["production"] = judge.ask([*head, (role, f"{last}\n\n{ANSWERABLE_PROMPT}")]).p_yes
            row["passages"] = len(evidence)
            if only_production:
                row["seconds"] = round(time.perf_counter() - start, 1)
                f.write(json.dumps(row) + "\n")
                f.flush()
                continue
            row["failure_modes"] = judge.ask([*head, (role, f"{last}\n\n{FAILURE_MODES}")]).p_yes
            row["which"] = p_some(judge.first_tokens([*head, (role, f"{last}\n\n{WHICH}")]))
            row["alone_1"] = judge.run(engine.messages(item.question, evidence[:1])).p_yes  # opens like the answer's prompt
            row["seconds"] = round(time.perf_counter() - start, 1)
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(item.id, {k: row.get(k) for k in ("production", "failure_modes", "which", "alone_1", "seconds")}, flush=True)


def derived(path: Path) -> list[dict[str, Any]]:
    """The recorded rows that reached the judge, with the combined variants added."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = [r for r in rows if not r.get("gated")]
    for r in rows:
        known = [x for x in (r.get("production"), r.get("alone_1")) if x is not None]
        r["production_or_alone"] = max(known) if known else None
        both = [r.get("production"), r.get("failure_modes")]
        r["mean_prod_fail"] = sum(both) / 2 if None not in both else None
        pair = [r.get("production"), r.get("alone_1")]
        r["mean_prod_alone"] = sum(pair) / 2 if None not in pair else r.get("production")
    return rows


def report(path: Path) -> None:
    rows = derived(path)
    names = ["production", "failure_modes", "which", "alone_1", "production_or_alone", "mean_prod_fail", "mean_prod_alone"]
    halves = {"odd": [r for r in rows if r["place"] % 2], "even": [r for r in rows if not r["place"] % 2], "all": rows}
    print(f"{len(rows)} questions reach the judge ({sum(r['answerable'] for r in rows)} answerable)")
    print(f"{'variant':22} {'odd':>6} {'even':>6} {'all':>6}  all vs production, 95% bootstrap CI")
    rng = random.Random(0)

    def separation(rows: list[dict[str, Any]], name: str) -> float:
        def score(r: dict[str, Any]) -> float:
            return r[name] if r.get(name) is not None else 0.5

        return auroc([score(r) for r in rows if r["answerable"]], [score(r) for r in rows if not r["answerable"]])

    for name in names:
        cells = [separation(half, name) for half in halves.values()]
        samples = [[rng.choice(rows) for _ in rows] for _ in range(1000)]
        diffs = sorted(separation(sample, name) - separation(sample, "production") for sample in samples)
        print(f"{name:22} {cells[0]:6.3f} {cells[1]:6.3f} {cells[2]:6.3f}  {diffs[25]:+.3f} .. {diffs[974]:+.3f}")
    seconds = sorted(r["seconds"] for r in rows if "seconds" in r)
    if seconds:
        print(f"seconds a question (all variants): median {seconds[len(seconds) // 2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="record the variants' P(Yes) here (appends; resumes)")
    parser.add_argument("--report", type=Path, help="AUROC of each variant from a recording")
    parser.add_argument("--export", nargs=2, metavar=("VARIANT", "FILE"), help='with --report: write {"id", "p_yes"} lines of one variant')
    parser.add_argument("--limit", type=int)
    parser.add_argument("--only-production", action="store_true", help="only the production prompt (e.g. at another llm_context_tokens)")
    args = parser.parse_args()
    if args.out:
        record(args.out, args.limit, args.only_production)
    if args.report:
        report(args.report)
        if args.export:
            name, target = args.export
            lines = [json.dumps({"id": r["id"], "p_yes": r.get(name)}) for r in derived(args.report)]
            Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
