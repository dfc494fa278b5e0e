"""Calibrate the LLM engine's citation-support threshold on a QA set, replaying a saved `ragbot eval --engine llm` run.

Each question's written text (`generated` in results.jsonl) is fed back through the real pipeline
(retrieval, evidence numbering, CitationVerifier; not the answerability judge, which
bench/calibrate_judge.py calibrates) in place of the model, once per candidate
threshold, and scored as `ragbot eval` scores it. No model runs, so a sweep takes seconds. The
run must come from the current index and retrieval settings: a question whose retrieved passages
differ from the saved ones is skipped (the numbering the model saw would differ) and counted.

Prints, per threshold, key-fact recall, citation support and precision, false abstention, how many
written sentences were dropped, and how many answers kept no sentence (unsure); suggests the
threshold with the best harmonic mean of key-fact recall and citation precision (the lowest on a tie).

    .venv/bin/python bench/calibrate_support.py RESULTS_DIR [--dataset eval/briefs_qa.jsonl] [--threshold T ...]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from statistics import mean
from types import SimpleNamespace
from typing import Any

from ragbot.chain import Pipeline
from ragbot.engines.llm import LLMEngine
from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.runner import read_results, score
from ragbot.settings import Settings

THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)


class ReplayModel:
    """A chat model that streams back the text the real model wrote for each question."""

    def __init__(self, written: dict[str, str]) -> None:
        self.written = written

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[Any]:
        question = messages[-1][1].rsplit("\n\nQuestion: ", 1)[1]
        yield SimpleNamespace(content=self.written[question])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="a `ragbot eval --engine llm` output folder")
    ap.add_argument("--dataset", type=Path, default=Path("eval/briefs_qa.jsonl"))
    ap.add_argument("--threshold", type=float, action="append", help="a threshold to try (repeatable; default: a sweep)")
    args = ap.parse_args()
    settings = Settings.load(engine="llm")
    base = Pipeline.load(settings, refresh=False)
    items = {i.id: i for i in load_dataset(args.dataset, settings.corpus_dir).items}
    records = [r for r in read_results(args.results) if "error" not in r and r["id"] in items]
    written = {r["question"]: r.get("generated") or "" for r in records}
    replay = ReplayModel(written)

    same, skipped = [], 0
    for r in records:
        retrieved = [h.passage.passage_id for h in base.retriever.run(r["question"], k=len(r["retrieved"]) or None).hits]
        if retrieved == [h["passage_id"] for h in r["retrieved"]]:
            same.append(r)
        else:
            skipped += 1
    print(f"{len(same)} questions replayed, {skipped} skipped (retrieval differs from the saved run)")
    print("threshold  key_facts  support  precision  false_abstain  dropped_sentences  fallbacks")
    best: tuple[float, float] | None = None
    for threshold in args.threshold or THRESHOLDS:
        tuned = settings.model_copy(update={"support_threshold": threshold})
        engine = LLMEngine(base.index, base.encoder, tuned, model=replay)
        scores, dropped, fallbacks = [], 0, 0
        for r in same:
            retrieval = base.retriever.run(r["question"])
            answer = engine.verify(retrieval, written[r["question"]], engine.evidence(retrieval))  # the citation check alone
            dropped += len(answer.dropped)
            fallbacks += not answer.answered
            if items[r["id"]].answerable:
                scores.append(score(items[r["id"]], answer))
        kfr, support, precision = (mean(s[key] for s in scores) for key in ("key_fact_recall", "citation_support", "citation_precision"))
        false_abstain = mean(float(s["abstained"]) for s in scores)
        print(f"  {threshold:.2f}     {kfr:.3f}      {support:.3f}    {precision:.3f}      {false_abstain:.3f}", end="")
        print(f"          {dropped:3d}            {fallbacks:3d}")
        f = 2 * kfr * precision / (kfr + precision) if kfr + precision else 0.0
        if best is None or f > best[1] + 1e-9:
            best = (threshold, f)
    if best is not None:
        print(f"suggested support_threshold = {best[0]} (harmonic mean of key-fact recall and citation precision {best[1]:.3f})")


if __name__ == "__main__":
    main()
