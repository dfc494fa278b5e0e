"""Retrieval with and without preferring the briefs a question names: hit@1 and MRR on the odd half, even half and all.

    .venv/bin/python bench/brief_names.py [--index index] [--dataset eval/briefs_qa.jsonl]

Ranks as the instant (extractive) engine gets passages (Pipeline.retrieve: hybrid, top_k or answer_passages,
whichever is more), once with ``brief_match_weight`` 0 (the matcher off) and once with the setting in force.
Scores the answerable questions with gold evidence (a passage holding half a gold quote is relevant); also
counts the questions the matcher names briefs in, and how many of those name every gold brief. Builds the
index first when the folder holds none. No model is run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ragbot.chain import Pipeline
from ragbot.evaluation import metrics as m
from ragbot.evaluation.dataset import EvalItem, load_dataset
from ragbot.index.reader import read_manifest
from ragbot.retrieval import Retriever
from ragbot.settings import Settings

HALVES = ("odd", "even", "all")


def ranks(pipeline: Pipeline, retriever: Retriever, items: list[EvalItem]) -> dict[str, int | None]:
    """Each question's first relevant rank, as the instant engine's retrieval step ranks."""
    k = max(pipeline.settings.top_k, pipeline.settings.answer_passages)
    found = {}
    for item in items:
        hits = retriever.run(item.question, k=k).hits
        found[item.id] = m.first_relevant_rank([m.Span(h.passage.doc_id, h.passage.start, h.passage.end) for h in hits], item.evidence)
    return found


def figures(items: list[EvalItem], rank: dict[str, int | None], half: str) -> tuple[float, float, int]:
    """hit@1, MRR and the number of questions in a half."""
    chosen = [i for i in items if half == "all" or i.half == half]
    n = len(chosen)
    return sum(m.hit_at(rank[i.id], 1) for i in chosen) / n, sum(m.reciprocal_rank(rank[i.id]) for i in chosen) / n, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: the index_dir setting)")
    parser.add_argument("--dataset", type=Path, default=Path("eval/briefs_qa.jsonl"))
    args = parser.parse_args()
    settings = Settings.load(**({"index_dir": args.index} if args.index else {}), engine="extractive", retriever="hybrid")
    pipeline = Pipeline.load(settings) if read_manifest(settings.index_dir) else Pipeline.build(settings)
    items = [i for i in load_dataset(args.dataset, settings.corpus_dir, settings.index_dir).items if i.answerable and i.evidence]
    named = {i.id: pipeline.retriever.briefs.match(i.question) for i in items}
    gold_named = sum(bool(named[i.id]) and {e.doc for e in i.evidence} <= named[i.id] for i in items)
    naming = sum(map(bool, named.values()))
    print(f"{args.dataset}: {len(items)} answerable questions; {naming} name briefs, {gold_named} of them every gold brief")
    off = Retriever(pipeline.index, pipeline.encoder, settings.model_copy(update={"brief_match_weight": 0.0}), pipeline.retriever.store)
    runs = {"off (0)": ranks(pipeline, off, items), f"on ({settings.brief_match_weight:g})": ranks(pipeline, pipeline.retriever, items)}
    print(f"{'brief_match_weight':20} " + " ".join(f"{h + ' hit@1':>11} {h + ' MRR':>9}" for h in HALVES))
    for name, rank in runs.items():
        print(f"{name:20} " + " ".join(f"{f[0]:11.3f} {f[1]:9.3f}" for f in (figures(items, rank, h) for h in HALVES)))
    print("questions per half: " + ", ".join(f"{h} {figures(items, runs['off (0)'], h)[2]}" for h in HALVES))


if __name__ == "__main__":
    main()
