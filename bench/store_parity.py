"""Whether the LLM engine would send the model the same prompts on Milvus as on FAISS, without running the model.

    .venv/bin/python bench/store_parity.py --index index --milvus-uri /tmp/ragbot.db \\
        [--dataset eval/briefs_qa.jsonl eval/unanswerable_qa.jsonl] [--out parity.jsonl]

For every question, each store's retrieval goes through the LLM engine's own steps up to the
model: the extractive preview (which decides whether the model is asked at all), the evidence
(LLMEngine.evidence) and the prompt (LLMEngine.messages). The engine holds a stand-in model that
fails if called. At temperature 0 the same prompt gives the same judgement, answer and claim
checks, so byte-identical prompts mean identical trust figures. The Milvus collections are brought
up to date with the index first (``ragbot index --to milvus`` does it too). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ragbot.engines.llm import LLMEngine
from ragbot.index.reader import load_index
from ragbot.index.search.base import SearchStore
from ragbot.index.search.faiss_store import FaissStore
from ragbot.index.search.milvus_store import MilvusStore
from ragbot.models.embedder import query_encoder_for
from ragbot.question import clean_question
from ragbot.retrieval import Retriever
from ragbot.settings import Settings


class NoModel:
    """Stands where the chat model would: any use of it is a mistake in this script."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the model was used ({name}); this script must not call it")


def prompt(engine: LLMEngine, retriever: Retriever, question: str, settings: Settings) -> tuple[str, str] | None:
    """What the LLM engine would send the model (its messages as JSON) and cite (evidence passages and spans), or None."""
    text = clean_question(question, settings.max_question_chars)
    retrieval = retriever.run(text, k=max(settings.top_k, settings.answer_passages))  # as Pipeline's retrieve step
    scored = engine.extractive.score_sentences(retrieval)
    if engine.extractive.answer(retrieval, scored).abstained:  # LLMEngine.stream: no passage close enough, no model
        return None
    evidence = engine.evidence(retrieval, scored)
    cited = json.dumps([(e.passage.passage_id, e.spans) for e in evidence])  # what verify() checks the answer against
    return json.dumps(engine.messages(retrieval.question, evidence), ensure_ascii=False), cited


def main() -> None:
    """Compare both stores' prompts for every question of the datasets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--milvus-uri", required=True)
    ap.add_argument("--dataset", type=Path, nargs="+", default=[Path("eval/briefs_qa.jsonl"), Path("eval/unanswerable_qa.jsonl")])
    ap.add_argument("--out", type=Path, help="JSONL of each question's two prompts")
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index, engine="llm")
    index, encoder = load_index(args.index), query_encoder_for(settings)
    engine = LLMEngine(index, encoder, settings, model=NoModel())
    milvus = settings.model_copy(update={"vector_store": "milvus", "milvus_uri": args.milvus_uri})
    stores: dict[str, SearchStore] = {"faiss": FaissStore(index, settings), "milvus": MilvusStore.connect(index, milvus)}
    retrievers = {name: Retriever(index, encoder, settings, store) for name, store in stores.items()}
    questions = [json.loads(line) for path in args.dataset for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for q in questions:
        sent = {name: prompt(engine, r, q["question"], settings) for name, r in retrievers.items()}
        a, b = sent["faiss"], sent["milvus"]
        same_prompt = (a is None) == (b is None) and (a is None or (a[0] == b[0]))
        rows.append({"id": q["id"], **sent, "identical": same_prompt, "same_evidence": a == b})
    asked = [r for r in rows if r["faiss"] is not None or r["milvus"] is not None]
    summary = {
        "questions": len(rows),
        "model_asked_on_faiss": sum(r["faiss"] is not None for r in rows),
        "model_asked_on_milvus": sum(r["milvus"] is not None for r in rows),
        "same_decision_to_ask": sum((r["faiss"] is None) == (r["milvus"] is None) for r in rows),
        "prompts": len(asked),
        "identical_prompts": sum(r["identical"] for r in asked),
        "same_evidence_passages": sum(r["same_evidence"] for r in asked),
        "differing": [r["id"] for r in rows if not (r["identical"] and r["same_evidence"])],
    }
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
