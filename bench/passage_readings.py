"""Record each eval question's top retrieved passages read alone (PassageReader): P(Yes), gold or not, and the tokens it cost.

Readings are made passage by passage (every question whose top-k holds a passage, one after the
other; ranks 1-3 of every question first, then ranks 4-5), so each passage's prompt prefix is
evaluated once and the next questions on it reuse it from llama.cpp's cache: the first reading of
a passage is the uncached cost, the later ones the cached cost. Appends and resumes; the offline replay is bench/passage_rerank.py.

    .venv/bin/python bench/passage_readings.py --out /work/trust-runs/readings.jsonl [--top 5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ragbot.chain import Pipeline
from ragbot.engines.passage_reader import PassageReader
from ragbot.evaluation import metrics as m
from ragbot.evaluation.dataset import load_dataset
from ragbot.settings import Settings

SETS = ["eval/briefs_qa.jsonl", "eval/unanswerable_qa.jsonl"]


def pairs(pipeline: Pipeline, top: int, first: int = 3) -> list[dict[str, Any]]:
    """Every (question, retrieved passage) pair of the eval sets, with its labels.

    Ordered by passage then question, the pairs of ranks 1..``first`` before the rest: a recording stopped early still
    holds every question's top ``first``.
    """
    rows = []
    for path in SETS:
        for item in load_dataset(Path(path), pipeline.settings.corpus_dir).items:
            retrieval = pipeline.retriever.run(item.question)
            extractive = pipeline.engine("llm").extractive  # type: ignore[attr-defined]
            gated = extractive.answer(retrieval, extractive.score_sentences(retrieval)).abstained
            for hit in retrieval.hits[:top]:
                p = hit.passage
                rows.append(
                    {
                        "id": item.id,
                        "set": path,
                        "half": item.half,
                        "answerable": item.answerable,
                        "subtype": item.subtype or item.type,
                        "gated": gated,
                        "rank": hit.rank,
                        "passage_id": p.passage_id,
                        "row": pipeline.index.passages.index(p),
                        "score": round(hit.score, 6),
                        "gold": item.answerable and m.relevant(m.Span(p.doc_id, p.start, p.end), item.evidence),
                        "question": item.question,
                    }
                )
    rows.sort(key=lambda r: (r["rank"] > first, r["row"], r["set"], r["id"]))  # the top `first` of every question first
    return rows


def record(out: Path, top: int) -> None:
    pipeline = Pipeline.load(Settings.load(engine="llm"), refresh=False)
    reader = PassageReader(pipeline.engine("llm").model)  # type: ignore[attr-defined]
    done = {(r["id"], r["passage_id"]) for r in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
    todo = pairs(pipeline, top)
    with out.open("a") as f:
        for r in todo:
            if (r["id"], r["passage_id"]) in done:
                continue
            reading = reader.run(pipeline.index.passages[r["row"]], r["question"])
            r.update(p_yes=reading.p_yes, prompt_tokens=reading.prompt_tokens, cached_tokens=reading.cached_tokens, ms=round(reading.ms))
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()
            cost = (r["prompt_tokens"], r["cached_tokens"], r["ms"])
            print(r["row"], r["id"], r["gold"], r["p_yes"] and round(r["p_yes"], 3), *cost, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    record(args.out, args.top)


if __name__ == "__main__":
    main()
