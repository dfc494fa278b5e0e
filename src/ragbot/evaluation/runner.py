"""Run a dataset through the same Pipeline a user gets; score each question; write results.jsonl as it goes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ragbot.answer import Answer
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.evaluation import metrics as m
from ragbot.evaluation.dataset import EvalItem

RESULTS = "results.jsonl"


def _span(passage: Any) -> m.Span:
    return m.Span(passage.doc_id, passage.start, passage.end)


def score(item: EvalItem, answer: Answer) -> dict[str, Any]:
    """Per-question scores and the outcome a user saw; retrieval and answer scores only for answerable questions."""
    ranked = [_span(h.passage) for h in answer.retrieved]
    cited = [_span(c.passage) for c in answer.citations] if answer.answered else []  # unsure: closest evidence, not citations
    return score_parts(item, answer.status, answer.text, answer.confidence, answer.timings_ms, ranked, cited)


def score_parts(
    item: EvalItem,
    status: str,
    text: str,
    confidence: float | None,
    timings_ms: dict[str, float],
    ranked: list[m.Span] | None,
    cited: list[m.Span] | None,
) -> dict[str, Any]:
    """The scores of one answer from its parts; ``ranked`` or ``cited`` None: the system returned no sources to score (n/a)."""
    answered = status == "answered"
    scores: dict[str, Any] = {
        "status": status,
        "confidence": confidence,
        "abstained": not answered,  # "unsure" is not an answer either
        "outcome": m.outcome(status, text, item.key_facts, item.answerable),
        "latency_ms": timings_ms.get("total"),
        "first_token_ms": timings_ms.get("first_token"),
        "judgement_ms": timings_ms.get("judgement"),
    }
    if not item.answerable:
        return scores
    scores["key_fact_recall"] = m.key_fact_recall(text, item.key_facts) if answered else 0.0
    scores["token_f1"] = m.token_f1(text, item.answer) if answered else 0.0
    if ranked is not None:
        rank = m.first_relevant_rank(ranked, item.evidence)
        scores.update(
            {
                "first_relevant_rank": rank,
                **{f"hit@{k}": m.hit_at(rank, k) for k in (1, 3, 5, 10)},
                "mrr": m.reciprocal_rank(rank),
                "ndcg@10": m.ndcg_at(ranked, item.evidence, 10),
                "evidence_coverage": m.evidence_coverage(ranked, item.evidence),
            }
        )
    if cited is not None:
        scores["citation_support"], scores["citation_precision"] = m.citation_scores(cited, item.evidence)
    return scores


def run(
    pipeline: Pipeline, items: list[EvalItem], out_dir: Path, k: int = 10, progress: bool = True, engine: str | None = None
) -> list[dict[str, Any]]:
    """Ask every question; each result line is written (and flushed) as soon as it is scored."""
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    with (out_dir / RESULTS).open("w", encoding="utf-8") as f:
        for item in tqdm(items, desc="evaluating", unit="question", disable=not progress, file=sys.stderr):
            try:
                answer = pipeline.ask(item.question, engine, k=k)
            except RagbotError as exc:  # e.g. an over-long question: recorded, the run goes on
                record = {"id": item.id, **labels(item), "question": item.question, "error": str(exc), "scores": {}}
            else:
                record = {"id": item.id, **labels(item), **answer.to_dict(), "scores": score(item, answer)}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            records.append(record)
    return records


def labels(item: EvalItem) -> dict[str, Any]:
    return {"type": item.type, "subtype": item.subtype, "half": item.half}


def read_results(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / RESULTS
    if not path.is_file():
        raise RagbotError(f"{path} not found: is {out_dir} a `ragbot eval` output folder?")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
