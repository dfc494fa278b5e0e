"""Per-question retrieval latency on Milvus (or FAISS), with the time spent in each kind of Milvus call.

    .venv/bin/python bench/milvus_latency.py --index index --milvus-uri http://127.0.0.1:19530 \\
        [--dataset eval/briefs_qa.jsonl] [--warmup 5]

Times ``Retriever.run`` (question encoding included) for every question of the dataset after a few
warm-up questions; with ``--milvus-uri`` the retriever reads Milvus (collections brought up to date
with the index first), without it FAISS. Each Milvus client call made while answering is timed too
and grouped by method, collection and output fields. Prints one JSON line: median, min and max
milliseconds per question and, per kind of call, calls per question and their median milliseconds.
Run it alternately on two commits to compare them (the machine's load moves both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ragbot.index.reader import load_index
from ragbot.index.search.base import SearchStore
from ragbot.index.search.faiss_store import FaissStore
from ragbot.models.embedder import query_encoder_for
from ragbot.retrieval import Retriever
from ragbot.settings import Settings


def timed(client: Any, calls: dict[str, list[float]]) -> None:
    """Wrap the client's query, get and search so each call's seconds land in calls under its kind."""
    for method in ("query", "get", "search"):
        inner = getattr(client, method)

        def wrapper(collection: str, *args: Any, _inner: Any = inner, _method: str = method, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _inner(collection, *args, **kwargs)
            finally:
                fields = ",".join(kwargs.get("output_fields") or [])
                calls[f"{_method} {collection} [{fields}]"].append(time.perf_counter() - start)

        setattr(client, method, wrapper)


def main() -> None:
    """Time every question's retrieval on one store."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--milvus-uri", help="Milvus to read (http://host:port or a Milvus Lite .db); without it, FAISS")
    ap.add_argument("--dataset", type=Path, default=Path("eval/briefs_qa.jsonl"))
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index)
    index, encoder = load_index(args.index), query_encoder_for(settings)
    calls: dict[str, list[float]] = defaultdict(list)
    store: SearchStore
    if args.milvus_uri:
        from ragbot.index.search.milvus_store import MilvusStore

        milvus = settings.model_copy(update={"vector_store": "milvus", "milvus_uri": args.milvus_uri})
        store = MilvusStore.connect(index, milvus)
        timed(store.client, calls)
    else:
        store = FaissStore(index, settings)
    retriever = Retriever(index, encoder, settings, store)
    lines = args.dataset.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    for q in questions[: args.warmup]:
        retriever.run(q)
    calls.clear()
    seconds = []
    for q in questions:
        start = time.perf_counter()
        retriever.run(q)
        seconds.append(time.perf_counter() - start)
    ms = [1000 * s for s in seconds]
    summary = {
        "store": "milvus" if args.milvus_uri else "faiss",
        "questions": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
        "calls": {
            kind: {"per_question": round(len(t) / len(ms), 2), "median_ms": round(1000 * statistics.median(t), 1)}
            for kind, t in sorted(calls.items())
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
